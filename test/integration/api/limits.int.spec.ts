import { createCredential, providerId, tenantWithTokens, uniqueSlug } from '../../factories';
import { ADMIN_TOKEN, startTestApp, type GqlResult, type TestApp } from '../../helpers/test-app';

let t: TestApp;
let tenantId: string;
let admin: string;
beforeAll(async () => {
  t = await startTestApp();
  const created = await tenantWithTokens(t);
  tenantId = created.tenant.id;
  admin = created.admin;
});
afterAll(() => t.close());

const noStack = (res: GqlResult) => {
  for (const e of res.errors ?? []) expect(e.extensions?.stacktrace).toBeUndefined();
  expect(res.raw).not.toMatch(/node_modules|\n\s+at |\.ts:\d+/);
};
const codes = (res: GqlResult) => (res.errors ?? []).map((e) => e.extensions?.code);

describe('page size and cursors', () => {
  const LISTS = [
    ['credentials', `credentials(tenantId: $t, first: $n) { nodes { id } }`],
    ['gateways', `gateways(tenantId: $t, first: $n) { nodes { id } }`],
    ['auditEvents', `auditEvents(tenantId: $t, first: $n) { nodes { id } }`],
    ['apiTokens', `apiTokens(tenantId: $t, first: $n) { nodes { id } }`],
  ] as const;

  it.each([101, 0, -1])('first: %i is BAD_USER_INPUT on every connection', async (n) => {
    for (const [name, field] of LISTS) {
      const res = await t.gql(`query($t: ID!, $n: Int!) { ${field} }`, { t: tenantId, n }, admin);
      expect({ name, data: res.data, codes: codes(res) }).toEqual({ name, data: null, codes: ['BAD_USER_INPUT'] });
      expect(res.errors![0].message).toBe('"first" must be from 1 to 100.');
      noStack(res);
    }
    const tenants = await t.gql(`query($n: Int!) { tenants(first: $n) { nodes { id } } }`, { n });
    expect(codes(tenants)).toEqual(['BAD_USER_INPUT']);
  });

  it('first: 100 is allowed', async () => {
    const res = await t.gql(`query($t: ID!) { credentials(tenantId: $t, first: 100) { nodes { id } } }`, { t: tenantId }, admin);
    expect(res.errors).toBeUndefined();
  });

  it.each([
    ['garbage', 'not-a-cursor!'],
    ['base64 of junk', Buffer.from('hello world').toString('base64url')],
    ['right prefix, not a uuid', Buffer.from('v1:1234').toString('base64url')],
    ['wrong prefix', Buffer.from('v9:00000000-0000-4000-8000-000000000000').toString('base64url')],
  ])('a malformed after cursor (%s) is BAD_USER_INPUT', async (_name, after) => {
    const res = await t.gql(`query($t: ID!, $a: String) { credentials(tenantId: $t, after: $a) { nodes { id } } }`, { t: tenantId, a: after }, admin);
    expect(res.data).toBeNull();
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toBe('The cursor is not valid.');
    expect(res.raw).not.toContain(after);
  });

  it('walks 25 credentials in pages of 10, 10 and 5, newest first, without duplicates', async () => {
    const own = await tenantWithTokens(t);
    const openai = await providerId(t, 'openai');
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await createCredential(t, own.admin, { tenantId: own.tenant.id, providerId: openai })).id);

    const sizes: number[] = [];
    const flags: boolean[] = [];
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res: GqlResult = await t.gql(
        `query($t: ID!, $a: String) { credentials(tenantId: $t, first: 10, after: $a) {
           edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
        { t: own.tenant.id, a: after },
        own.admin,
      );
      expect(res.errors).toBeUndefined();
      const { edges, pageInfo } = res.data.credentials;
      sizes.push(edges.length);
      flags.push(pageInfo.hasNextPage);
      expect(pageInfo.hasPreviousPage).toBe(after !== null); // forward paging: the `after` row precedes this page
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      seen.push(...edges.map((e: { node: { id: string } }) => e.node.id));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(flags).toEqual([true, true, false]);
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual([...created].reverse()); // created one after another: newest first

    // An exact fit has no next page, and the page after the last one is empty.
    const exact = await t.gql(
      `query($t: ID!) { credentials(tenantId: $t, first: 25) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
      { t: own.tenant.id },
      own.admin,
    );
    expect(exact.data.credentials.nodes).toHaveLength(25);
    expect(exact.data.credentials.pageInfo.hasNextPage).toBe(false);
    const beyond = await t.gql(
      `query($t: ID!, $a: String) { credentials(tenantId: $t, first: 10, after: $a) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
      { t: own.tenant.id, a: exact.data.credentials.pageInfo.endCursor },
      own.admin,
    );
    expect(beyond.data.credentials).toEqual({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});

describe('query depth and cost', () => {
  const nest = (names: string[]) => names.reduceRight((inner, name) => `${name} { ${inner} }`, 'leaf');

  it('rejects a query deeper than GRAPHQL_MAX_DEPTH (10) with QUERY_TOO_COMPLEX', async () => {
    const res = await t.gql(`{ ${nest('abcdefghijk'.split(''))} }`);
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    const depth = res.errors!.find((e) => /^Query depth \d+ exceeds the maximum of 10\.$/.test(e.message));
    expect(depth?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 10 });
    noStack(res);
  });

  it('counts real fields and fragments against a lower limit; a query at the limit runs', async () => {
    const low = await startTestApp({ GRAPHQL_MAX_DEPTH: '6' });
    try {
      // gateways > edges > node > attachments > credential > provider > id: 7 levels.
      const seven = `query($t: ID!) { gateways(tenantId: $t) { edges { node { attachments { credential { provider { id } } } } } } }`;
      const viaFragment = `query($t: ID!) { gateways(tenantId: $t) { edges { node { ...G } } } }
        fragment G on Gateway { attachments { credential { provider { id } } } }`;
      const six = `query($t: ID!) { gateways(tenantId: $t) { edges { node { attachments { credential { id } } } } } }`;
      for (const query of [seven, viaFragment]) {
        const res = await low.gql(query, { t: tenantId }, admin);
        expect(res.data).toBeUndefined();
        expect(res.errors).toEqual([
          expect.objectContaining({
            message: 'Query depth 7 exceeds the maximum of 6.',
            extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 6 },
          }),
        ]);
      }
      const ok = await low.gql(six, { t: tenantId }, admin);
      expect(ok.errors).toBeUndefined();
      expect((await t.gql(seven, { t: tenantId }, admin)).errors).toBeUndefined(); // the default limit allows it
    } finally {
      await low.close();
    }
  });

  it('rejects a costly query (aliased lists of 100 with nested lists) before running it', async () => {
    const node = 'edges { node { id label redactedKey versions { version state redactedKey } } }';
    const aliased = (count: number) =>
      `query($t: ID!, $n: Int!) { ${Array.from({ length: count }, (_, i) => `a${i}: credentials(tenantId: $t, first: $n) { ${node} }`).join(' ')} }`;
    const logsBefore = t.logs.length;
    const res = await t.gql(aliased(7), { t: tenantId, n: 100 }, admin);
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(codes(res)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(res.errors![0].message).toMatch(/^Query cost \d+ exceeds the maximum of 5000\.$/);
    noStack(res);
    expect(t.logs.slice(logsBefore).join('')).not.toContain('unhandled error');

    // A negative first on one more alias must not cancel out the cost of the others.
    const offset = `${aliased(7).slice(0, -2)} neg: credentials(tenantId: $t, first: -100000) { ${node} } }`;
    const bypass = await t.gql(offset, { t: tenantId, n: 100 }, admin);
    expect(bypass.status).toBe(400);
    expect(codes(bypass)).toEqual(['QUERY_TOO_COMPLEX']);

    expect((await t.gql(aliased(7), { t: tenantId, n: 10 }, admin)).errors).toBeUndefined(); // the same shape, cheaper
    expect((await t.gql(aliased(1), { t: tenantId, n: 100 }, admin)).errors).toBeUndefined();
  });
});

describe('transport', () => {
  it('refuses batched requests (a JSON array body) and runs none of them', async () => {
    const slugs = [uniqueSlug('batch'), uniqueSlug('batch')];
    const op = (slug: string) => ({
      query: 'mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { code } } }',
      variables: { input: { name: 'Batched', slug } },
    });
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(slugs.map(op)),
    });
    const body = JSON.parse(await res.text());
    expect(res.status).toBe(400);
    expect(Array.isArray(body)).toBe(false);
    expect(body.data).toBeUndefined();
    expect(body.errors.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toEqual(['BAD_REQUEST']);
    const rows = await t.app.db.query('SELECT count(*)::int AS n FROM tenants WHERE slug = ANY($1)', [slugs]);
    expect(rows[0].n).toBe(0);
    // The same operation alone does run, so the refusal above is the batching rule.
    expect((await t.gql(op(slugs[0]).query, op(slugs[0]).variables)).data.createTenant.tenant).not.toBeNull();
  });

  it('an unexpected failure is INTERNAL_SERVER_ERROR with a fixed message, logged server-side only', async () => {
    // A second API whose database pool is gone: every resolver that reads fails unexpectedly.
    const broken = await startTestApp();
    await broken.app.db.destroy();
    const res = await broken.gql('{ tenants(first: 5) { nodes { id } } }').finally(async () => {
      await broken.app.server.close();
      await broken.app.services.invalidations.close();
      await broken.app.services.keyRescans.close();
      await broken.app.services.keyCheckStore.close();
      await broken.app.services.queueBackend.close();
    });
    expect(res.data).toBeNull();
    expect(res.errors).toEqual([
      { message: 'Internal server error.', locations: expect.any(Array), path: ['tenants'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
    noStack(res);
    expect(res.raw).not.toMatch(/TypeORM|Connection|SELECT|stack/);
    const logged = broken.logs.filter((l) => l.includes('unhandled error in GraphQL operation'));
    expect(logged).toHaveLength(1);
  });

  it('a NUL byte in a filter is a clear BAD_USER_INPUT, not a server error', async () => {
    const res = await t.gql('query($t: ID!) { auditEvents(tenantId: $t, action: "nul\\u0000byte") { nodes { id } } }', { t: tenantId }, admin);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    noStack(res);
  });
});
