import { statusAfter } from '../../../src/modules/credential/credential-lifecycle';

describe('statusAfter (validation outcome -> credential status)', () => {
  it.each([
    // outcome, version state, current, checked version, latest, expected
    ['VALID', 'PENDING', 1, 1, 1, 'ACTIVE'], // first key validated and promoted
    ['VALID_NO_QUOTA', 'PENDING', 1, 1, 1, 'ACTIVE'],
    ['VALID_RESTRICTED', 'ACTIVE', 1, 1, 1, 'ACTIVE'],
    ['INVALID', 'PENDING', null, 1, 1, 'INVALID'], // first key never worked
    ['INVALID', 'PENDING', 1, 2, 2, null], // rejected rotation: a re-check of the serving key decides
    ['INVALID', 'ACTIVE', 1, 1, 1, 'INVALID'], // a working key stopped working
    ['INVALID', 'PREVIOUS', 2, 1, 2, null], // an outgoing version failing does not flip the credential
    ['RATE_LIMITED', 'PENDING', null, 1, 1, null],
    ['PROVIDER_UNAVAILABLE', 'ACTIVE', 1, 1, 1, null],
    ['UNKNOWN', 'ACTIVE', 1, 1, 1, null],
  ] as const)('%s on a %s version (current %s, checked %s, latest %s) -> %s', (outcome, state, current, version, latest, expected) => {
    expect(statusAfter(outcome, state, current, version, latest)).toBe(expected);
  });
});
