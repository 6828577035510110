import { randomUUID } from 'node:crypto';
import { createCredential, createGateway, openaiKey, providerId, tenantWithTokens } from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/* node(id:): any Node by its own id, tenant-scoped; null for anything else (docs/graphql-api.md). */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const NODE = `query($id: ID!) { node(id: $id) { __typename id
  ... on Credential { label tenantId }
  ... on Gateway { slug tenantId }
  ... on Tenant { slug }
  ... on ApiToken { role tenantId } } }`;

it('answers each Node type by its id, for its own tenant and for the platform admin', async () => {
  const w = await tenantWithTokens(t);
  const credential = await createCredential(t, w.admin, { tenantId: w.tenant.id, providerId: await providerId(t, 'openai'), secret: openaiKey() });
  const gateway = (await createGateway(t, w.admin, w.tenant.id)).gateway;
  const expected: [string, Record<string, unknown>][] = [
    [credential.id, { __typename: 'Credential', id: credential.id, tenantId: w.tenant.id }],
    [gateway.id, { __typename: 'Gateway', id: gateway.id, tenantId: w.tenant.id }],
    [w.tenant.id, { __typename: 'Tenant', id: w.tenant.id, slug: w.tenant.slug }],
    [w.viewerTokenId, { __typename: 'ApiToken', id: w.viewerTokenId, role: 'VIEWER', tenantId: w.tenant.id }],
  ];
  for (const [id, node] of expected) {
    for (const token of [w.admin, undefined]) {
      const res = await t.gql(NODE, { id }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data.node).toMatchObject(node);
    }
  }
});

it('is null for a random UUID, a malformed id and an id of a type that is not a Node, without an error', async () => {
  const w = await tenantWithTokens(t);
  const [provider] = await t.app.db.query("SELECT id FROM providers WHERE slug = 'openai'");
  for (const id of [randomUUID(), 'not-an-id', "x' OR 1=1 --", provider.id]) {
    expect(await t.gql(NODE, { id }, w.admin)).toMatchObject({ errors: undefined, data: { node: null } });
  }
});
