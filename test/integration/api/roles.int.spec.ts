import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { createToken, expectOk } from '../../factories';
import { ADMIN_TOKEN, type GqlResult, type TestApp } from '../../helpers/test-app';
import {
  expectRejected,
  FORBIDDEN,
  MUTATIONS,
  mutationDoc,
  PLATFORM_ONLY,
  READS,
  rolesWorld,
  state,
  TENANT_ADMIN_ONLY,
  UNAUTHENTICATED,
  type RolesWorld,
} from '../../helpers/roles-world';

/** Roles: VIEWER reads only, tenant ADMIN stays out of platform operations, bad tokens get 401. Platform admin: roles-platform.int.spec.ts. */

const world = rolesWorld();
let t: TestApp;
let W: RolesWorld;
beforeAll(() => {
  ({ t, W } = world);
});

test.each(TENANT_ADMIN_ONLY)('%s: VIEWER and the platform admin get FORBIDDEN, the tenant ADMIN may', async (name, input) => {
  const before = await state();
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, W.viewer), FORBIDDEN);
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, ADMIN_TOKEN), FORBIDDEN);
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, null), UNAUTHENTICATED);
  expect(await state()).toEqual(before);
  await expectOk(t.gql(mutationDoc(name), { input: input() }, W.admin), name);
});

test('the mutation table covers every mutation in the schema', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
  expect([...MUTATIONS, ...TENANT_ADMIN_ONLY].map(([n]) => n).sort()).toEqual(Object.keys(schema.getMutationType()!.getFields()).sort());
});

test('every query is a VIEWER read, ADMIN-only (apiTokens, auditIntegrity) or platform-only', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../../schema/schema.graphql'), 'utf8'));
  const mutations = Object.keys(schema.getMutationType()!.getFields());
  const platformQueries = [...new Set(PLATFORM_ONLY.map(([l]) => l.split(' ')[0]))].filter((n) => !mutations.includes(n));
  expect([...READS.map(([n]) => n), 'apiTokens', 'auditIntegrity', ...platformQueries].sort()).toEqual(
    Object.keys(schema.getQueryType()!.getFields()).sort(),
  );
});

test.each(READS)('VIEWER can read %s; without a token it is UNAUTHENTICATED', async (_name, doc, vars, expected) => {
  const res = await t.gql(doc, vars(), W.viewer);
  expect(res.errors).toBeUndefined();
  expect(res.data).toMatchObject(expected());
  expectRejected(await t.gql(doc, vars(), null), UNAUTHENTICATED);
});

test.each(MUTATIONS)('VIEWER gets FORBIDDEN on %s, no token gets UNAUTHENTICATED, nothing is written', async (name, input) => {
  const before = await state();
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, W.viewer), FORBIDDEN);
  expectRejected(await t.gql(mutationDoc(name), { input: input() }, null), UNAUTHENTICATED);
  expect(await state()).toEqual(before);
});

test('VIEWER cannot check auditIntegrity (ADMIN only)', async () => {
  const doc = 'query($id: ID!) { auditIntegrity(tenantId: $id) { ok } }';
  expect((await t.gql(doc, { id: W.tenantId }, W.admin)).errors).toBeUndefined();
  expectRejected(await t.gql(doc, { id: W.tenantId }, W.viewer), FORBIDDEN);
});

test('node(id:) of an ApiToken: its data for an ADMIN, null for a VIEWER (as apiTokens is ADMIN only)', async () => {
  const doc = 'query($id: ID!) { node(id: $id) { __typename id ... on ApiToken { name role } } }';
  const asAdmin = await t.gql(doc, { id: W.viewerTokenId }, W.admin);
  expect(asAdmin.errors).toBeUndefined();
  expect(asAdmin.data.node).toMatchObject({ __typename: 'ApiToken', id: W.viewerTokenId, role: 'VIEWER' });
  expect(await t.gql(doc, { id: W.viewerTokenId }, W.viewer)).toMatchObject({ errors: undefined, data: { node: null } });
});

test('VIEWER cannot list apiTokens (ADMIN only)', async () => {
  const doc = 'query($id: ID!) { apiTokens(tenantId: $id) { nodes { id redactedToken } } }';
  expect((await t.gql(doc, { id: W.tenantId }, W.admin)).errors).toBeUndefined();
  expectRejected(await t.gql(doc, { id: W.tenantId }, W.viewer), FORBIDDEN);
});

describe('bad tokens get HTTP 401 + UNAUTHENTICATED', () => {
  const expect401 = (res: GqlResult) => {
    expect(res.status).toBe(401);
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  };
  const createDoc = mutationDoc('createApiToken');

  test('a garbage token, on a query and a mutation', async () => {
    for (const garbage of ['garbage', `kp_${'x'.repeat(40)}`]) {
      expect401(await t.gql('{ viewer { role } }', {}, garbage));
      const before = await state();
      expect401(await t.gql(createDoc, { input: { tenantId: W.tenantId, name: 'nope', role: 'ADMIN' } }, garbage));
      expect(await state()).toEqual(before);
    }
  });

  test('a token revoked with revokeApiToken stops working at once', async () => {
    const victim = await createToken(t, W.tenantId, 'ADMIN');
    const works = await t.gql('{ viewer { role tenant { id } } }', {}, victim.token);
    expect(works.data.viewer).toEqual({ role: 'ADMIN', tenant: { id: W.tenantId } });
    await expectOk(t.gql(mutationDoc('revokeApiToken'), { input: { id: victim.id } }, W.admin), 'revokeApiToken');
    expect401(await t.gql('{ viewer { role tenant { id } } }', {}, victim.token));
    // That use is a security event, written off the request's path: let it land before the snapshot.
    await t.app.services.security.flush();
    const before = await state();
    expect401(await t.gql(createDoc, { input: { tenantId: W.tenantId, name: 'nope', role: 'ADMIN' } }, victim.token));
    expect(await state()).toEqual(before);
  });
});
