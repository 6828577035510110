import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { TOTAL_COUNT_CAP } from '../../../src/db/pagination';
import { createCredential, createToken, openaiKey, providerId, tenantWithTokens } from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/*
 * Connections page both ways over the same keyset (newest first), and count what matches their
 * filters when asked (docs/graphql-api.md, Paging).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const TOKENS = `query($t: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  apiTokens(tenantId: $t, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface PageResult {
  ids: string[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** A tenant with `extra` more tokens than its ADMIN and VIEWER ones, ids newest first as the database orders them. */
async function tenantWith(extra: number) {
  const w = await tenantWithTokens(t);
  for (let i = 0; i < extra; i++) await createToken(t, w.tenant.id, 'VIEWER');
  const rows: { id: string }[] = await t.app.db.query('SELECT id FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC', [
    w.tenant.id,
  ]);
  return { ...w, ids: rows.map((r) => r.id) };
}

async function page(token: string, vars: Record<string, unknown>): Promise<PageResult> {
  const res = await t.gql(TOKENS, vars, token);
  expect(res.errors).toBeUndefined();
  const c = res.data.apiTokens;
  return { ids: c.edges.map((e: { node: { id: string } }) => e.node.id), pageInfo: c.pageInfo };
}

it('paging forward with first/after and backward with last/before gives the same items in the same order', async () => {
  const w = await tenantWith(5); // 7 tokens
  expect(w.ids).toHaveLength(7);

  const forward: PageResult[] = [];
  let after: string | null = null;
  do {
    const p: PageResult = await page(w.admin, { t: w.tenant.id, first: 3, after });
    forward.push(p);
    after = p.pageInfo.hasNextPage ? p.pageInfo.endCursor : null;
  } while (after);
  expect(forward.map((p) => p.ids)).toEqual([w.ids.slice(0, 3), w.ids.slice(3, 6), w.ids.slice(6)]);
  expect(forward.map((p) => [p.pageInfo.hasPreviousPage, p.pageInfo.hasNextPage])).toEqual([
    [false, true],
    [true, true],
    [true, false],
  ]);

  const backward: PageResult[] = [];
  let before: string | null = null;
  for (;;) {
    const p: PageResult = await page(w.admin, { t: w.tenant.id, last: 3, before });
    backward.unshift(p);
    if (!p.pageInfo.hasPreviousPage) break;
    before = p.pageInfo.startCursor;
  }
  // From the end: the oldest 3, then the 3 before them, then the newest one; each page newest first.
  expect(backward.map((p) => p.ids)).toEqual([w.ids.slice(0, 1), w.ids.slice(1, 4), w.ids.slice(4)]);
  expect(backward.flatMap((p) => p.ids)).toEqual(forward.flatMap((p) => p.ids));
  expect(backward.map((p) => [p.pageInfo.hasPreviousPage, p.pageInfo.hasNextPage])).toEqual([
    [false, true],
    [true, true],
    [true, false],
  ]);

  // Back from the middle of a forward walk: the page before page 2 is page 1, cursors and all.
  const middle = forward[1];
  const back = await page(w.admin, { t: w.tenant.id, last: 3, before: middle.pageInfo.startCursor });
  expect(back).toEqual(await page(w.admin, { t: w.tenant.id, first: 3 }).then((p) => ({ ...p, pageInfo: { ...p.pageInfo, hasNextPage: true } })));
});

it("another tenant's cursor pages like a random one: nothing before or after it is shown", async () => {
  const a = await tenantWith(2);
  const b = await tenantWith(2);
  const foreignCursor = (await page(b.admin, { t: b.tenant.id, first: 1 })).pageInfo.endCursor;
  const randomCursor = Buffer.from(`v1:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).toString('base64url');
  for (const vars of [
    { first: 3, after: foreignCursor },
    { last: 3, before: foreignCursor },
  ]) {
    const foreign = await t.gql(TOKENS, { t: a.tenant.id, ...vars }, a.admin);
    const random = await t.gql(
      TOKENS,
      { t: a.tenant.id, ...vars, ...('after' in vars ? { after: randomCursor } : { before: randomCursor }) },
      a.admin,
    );
    expect(foreign.data.apiTokens.edges).toEqual([]);
    expect(foreign.raw).toBe(random.raw);
  }
});

it('mixed or out-of-range paging arguments are BAD_USER_INPUT', async () => {
  const w = await tenantWith(0);
  const cursor = (await page(w.admin, { t: w.tenant.id, first: 1 })).pageInfo.endCursor;
  for (const vars of [{ last: 2, after: cursor }, { before: cursor }, { last: 0 }, { last: 101 }, { first: 0 }]) {
    const res = await t.gql(TOKENS, { t: w.tenant.id, ...vars }, w.admin);
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  }
});

it('totalCount counts what matches the filters on all pages, whatever the page, and only when selected', async () => {
  const w = await tenantWithTokens(t);
  const openai = await providerId(t, 'openai');
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await createCredential(t, w.admin, { tenantId: w.tenant.id, providerId: openai, secret: openaiKey() })).id);
  await t.gql(
    'mutation($input: RevokeCredentialInput!) { revokeCredential(input: $input) { userErrors { code } } }',
    { input: { id: ids[0] } },
    w.admin,
  );
  const doc = `query($t: ID!, $rev: Boolean!, $first: Int, $last: Int) {
    credentials(tenantId: $t, includeRevoked: $rev, first: $first, last: $last) { totalCount again: totalCount nodes { id } } }`;
  const count = async (vars: Record<string, unknown>) => (await t.gql(doc, { t: w.tenant.id, ...vars }, w.viewer)).data.credentials;
  expect(await count({ rev: false, first: 1 })).toMatchObject({ totalCount: 3, again: 3 });
  expect(await count({ rev: true, first: 2 })).toMatchObject({ totalCount: 4, nodes: [{ id: ids[3] }, { id: ids[2] }] });
  expect(await count({ rev: true, last: 1 })).toMatchObject({ totalCount: 4, nodes: [{ id: ids[0] }] });

  // Not selected: no count query runs; selected twice (an alias): one.
  expect(await countQueries(() => t.gql('query($t: ID!) { credentials(tenantId: $t) { nodes { id } } }', { t: w.tenant.id }, w.admin))).toBe(0);
  expect(await countQueries(() => t.gql(doc, { t: w.tenant.id, rev: true, first: 1 }, w.admin))).toBe(1);
});

it(`totalCount stops at ${TOTAL_COUNT_CAP}`, async () => {
  const w = await tenantWithTokens(t);
  await t.app.db.query(
    `INSERT INTO api_tokens (tenant_id, name, role, token_hash, redacted_token)
     SELECT $1::uuid, 'bulk', 'VIEWER', sha256(convert_to($1::text || i::text, 'UTF8')), 'kp_…bulk' FROM generate_series(1, $2::int) i`,
    [w.tenant.id, TOTAL_COUNT_CAP + 5],
  );
  const res = await t.gql(
    'query($t: ID!) { apiTokens(tenantId: $t, first: 1) { totalCount pageInfo { hasNextPage } } }',
    { t: w.tenant.id },
    w.admin,
  );
  expect(res.data.apiTokens).toEqual({ totalCount: TOTAL_COUNT_CAP, pageInfo: { hasNextPage: true } });
  await t.app.db.query("DELETE FROM api_tokens WHERE tenant_id = $1 AND name = 'bulk'", [w.tenant.id]);
});

/** totalCount queries (SELECT count(*) ... capped) the API ran during `run`. */
async function countQueries(run: () => Promise<unknown>): Promise<number> {
  const spy = jest.spyOn(t.app.db, 'query');
  try {
    await run();
    return spy.mock.calls.filter(([sql]) => typeof sql === 'string' && sql.includes(') capped')).length;
  } finally {
    spy.mockRestore();
  }
}

it('every connection answers totalCount, first/after and last/before (keyReuseGroups pages forward only)', async () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
  const lists = Object.values(schema.getQueryType()!.getFields()).filter((f) => /Connection!?$/.test(String(f.type)));
  expect(lists.length).toBeGreaterThan(10);
  const w = await tenantWithTokens(t);
  for (const field of lists) {
    const args = field.args.map((a) => a.name);
    if (field.name === 'keyReuseGroups') {
      expect(args).not.toContain('last');
      continue;
    }
    expect([field.name, args]).toEqual([field.name, expect.arrayContaining(['first', 'after', 'last', 'before'])]);
    const scoped = args.includes('tenantId');
    const doc = scoped
      ? `query($t: ID!) { ${field.name}(tenantId: $t, last: 2) { totalCount pageInfo { hasPreviousPage } } }`
      : `{ ${field.name}(last: 2) { totalCount pageInfo { hasPreviousPage } } }`;
    const res = await t.gql(doc, scoped ? { t: w.tenant.id } : {}, scoped ? w.admin : undefined);
    expect([field.name, res.errors]).toEqual([field.name, undefined]);
    expect(res.data[field.name].totalCount).toEqual(expect.any(Number));
  }
});
