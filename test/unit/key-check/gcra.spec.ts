import { parse } from 'graphql';
import { countKeyChecks } from '../../../src/graphql/key-check-cap';
import { gcra } from '../../../src/modules/key-check/gcra';
import { MemoryBuckets } from '../../../src/modules/key-check/memory-buckets';

describe('gcra', () => {
  const rate = { limit: 3, periodMs: 60_000 };

  it('allows a burst of `limit`, then refuses with the wait until one unit has refilled', () => {
    let tat: number | undefined;
    for (let i = 0; i < 3; i++) {
      const step = gcra(tat, 1_000, rate);
      expect(step.waitMs).toBe(0);
      tat = step.newTat;
    }
    const refused = gcra(tat, 1_000, rate);
    expect(refused.waitMs).toBe(20_000);
    expect(refused.newTat).toBe(tat); // a refusal consumes nothing
    expect(gcra(tat, 21_000, rate).waitMs).toBe(0);
  });
});

describe('MemoryBuckets', () => {
  const tenant = { limit: 3, periodMs: 60_000 };
  const token = { limit: 2, periodMs: 60_000 };

  it('takes from both buckets or from neither, and counts refusals within the window', () => {
    const b = new MemoryBuckets();
    const take = (tk: string, now = 0) => b.take(now, { key: 'T', rate: tenant }, { key: tk, rate: token }, `r:${tk}`, 600_000);
    expect(take('a').allowed).toBe(true);
    expect(take('a').allowed).toBe(true);
    expect(take('a')).toEqual({ allowed: false, waitMs: 30_000, refused: 1 });
    expect(take('a').refused).toBe(2);
    expect(take('b').allowed).toBe(true); // the tenant had one left: the refusals took nothing
    expect(take('b')).toMatchObject({ allowed: false, waitMs: 20_000 }); // now the tenant's bucket is empty
    expect(take('a', 700_000)).toEqual({ allowed: true, waitMs: 0, refused: 0 });
  });
});

describe('countKeyChecks', () => {
  it('counts aliases and fields reached through fragments, once per spread', () => {
    const doc = parse(`
      fragment F on Mutation { x: createCredential(input: {}) { __typename } ...G }
      fragment G on Mutation { y: revalidateCredential(input: {}) { __typename } ...F }
      mutation M { a: testProviderKey(input: {}) { __typename } b: testProviderKey(input: {}) { __typename } ...F
                   ... on Mutation { rotateCredential(input: {}) { __typename } } revokeCredential(input: {}) { __typename } }
      mutation N { testProviderKey(input: {}) { __typename } }`);
    expect(countKeyChecks(doc, 'M')).toBe(5);
    expect(countKeyChecks(doc, 'N')).toBe(1);
  });
});
