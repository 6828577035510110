import { showsResultOf, TRANSIENT } from '../../../src/modules/credential/credential-lifecycle';

describe('showsResultOf: which check a credential shows', () => {
  it.each([
    // [current, latest, version, shown]
    [1, 1, 1, true], // the serving key
    [1, 2, 2, false], // a pending rotation
    [2, 2, 1, false], // a PREVIOUS key in its grace period
    [2, 3, 1, false], // an old job for a retired key
    [2, 3, 2, true], // the serving key while a rotation is pending
    [null, 1, 1, true], // nothing serves yet: the first key
    [null, 2, 2, true], // nothing serves yet: the newest key
    [null, 2, 1, false], // nothing serves yet: a superseded key
  ])('current %p, latest %p, version %p -> %p', (current, latest, version, shown) => {
    expect(showsResultOf(current, latest, version)).toBe(shown);
  });

  it('only provider trouble counts as transient (it may give up and raise an alert)', () => {
    expect([...TRANSIENT].sort()).toEqual(['PROVIDER_UNAVAILABLE', 'RATE_LIMITED']);
  });
});
