import { buildSchema, parse } from 'graphql';
import { createRequestGuard, measure, RequestLimitError, type RequestLimits } from '../../../src/graphql/request-guard';

const schema = buildSchema(`type Query { a: A, n: Int } type A { a: A, n: Int }`);
const LIMITS: RequestLimits = {
  documentBytes: 4096,
  tokens: 400,
  aliases: 3,
  directives: 2,
  depth: 4,
  introspectionDepth: 6,
  selections: 50,
  fragmentDepth: 3,
};

const refusedBy = (guard: (s: unknown) => void, source: string) => {
  try {
    guard(source);
    return null;
  } catch (error) {
    if (!(error instanceof RequestLimitError)) throw error;
    return error.limit;
  }
};

describe('measure', () => {
  it('counts a spread as its fragment content, once per spread, memoized', () => {
    const doc = parse(`{ ...X ...X } fragment X on Query { ...Y ...Y ...Y } fragment Y on Query { n a { n } }`);
    // Y: n, a, a.n = 3; X: 3 spreads + 3*3 = 12; operation: 2 spreads + 2*12 = 26.
    expect(measure(doc)).toEqual({ selections: 26, fragmentDepth: 2, introspectionDepth: 0 });
  });

  it('ends on a cycle and counts it as empty', () => {
    const doc = parse(`{ ...A } fragment A on Query { ...B n } fragment B on Query { ...A }`);
    expect(measure(doc).fragmentDepth).toBe(3); // A, B, and the spread of A that closes the cycle
  });

  it('counts introspection depth below __schema and __type, through fragments', () => {
    expect(measure(parse(`{ __schema { types { ...T } } } fragment T on __Type { ofType { ofType { name } } }`)).introspectionDepth).toBe(5);
    expect(measure(parse(`{ __type(name: "A") { name } a { n } }`)).introspectionDepth).toBe(2);
    expect(measure(parse(`{ a { a { a { n } } } }`)).introspectionDepth).toBe(0);
  });

  it('saturates instead of overflowing on enormous fan-out', () => {
    const frags = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ${`...F${i + 1} `.repeat(40)} }`).join(' ');
    const shape = measure(parse(`{ ...F0 } ${frags} fragment F40 on Query { n }`));
    expect(shape.selections).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('createRequestGuard', () => {
  const guard = createRequestGuard(schema, LIMITS);

  it.each([
    ['documentBytes', `{ n } #${'x'.repeat(5000)}`],
    ['tokens', `{ ${'n '.repeat(500)} }`],
    ['aliases', `{ a1: n a2: n a3: n a4: n }`],
    ['aliases', `{ ...F ...F } fragment F on Query { x: n y: n }`],
    ['directives', `{ n @skip(if: false) a @skip(if: false) { n @include(if: true) } }`],
    ['depth', `{ a { a { a { a { n } } } } }`],
    ['fragmentDepth', `{ ...A } fragment A on Query { ...B } fragment B on Query { ...C } fragment C on Query { ...D } fragment D on Query { n }`],
    ['selections', `{ ...X ...X ...X } fragment X on Query { ...Y ...Y ...Y } fragment Y on Query { n n n n n }`],
    ['introspectionDepth', `{ __schema { types { ofType { ofType { ofType { ofType { name } } } } } } }`],
  ])('refuses by %s', (limit, source) => {
    expect(refusedBy(guard, source)).toBe(limit);
  });

  it('passes a document at every limit, and syntax errors to the executor', () => {
    expect(refusedBy(guard, `{ x: n y: n z: n a { a { n } } }`)).toBeNull();
    expect(refusedBy(guard, `{ n `)).toBeNull();
    expect(refusedBy(guard, 42 as unknown as string)).toBeNull();
  });

  it('says only the limit and numbers, never document text', () => {
    try {
      guard(`{ sk_live_secret1: n sk_live_secret2: n sk_live_secret3: n sk_live_secret4: n }`);
      throw new Error('not refused');
    } catch (error) {
      expect((error as Error).message).toBe('Alias count 4 exceeds the maximum of 3.');
      expect((error as RequestLimitError).extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases', max: 3, http: { status: 400 } });
    }
  });
});
