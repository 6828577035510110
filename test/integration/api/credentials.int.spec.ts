import { createCredential, expectOk, openaiKey, providerId, tenantWithTokens } from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

it('creates, lists, rotates and revokes a credential, showing only the redacted hint', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const openai = await providerId(t, 'openai');
  const secret = openaiKey();
  const created = await createCredential(t, admin, { tenantId: tenant.id, providerId: openai, secret, label: 'prod' });
  expect(created.status).toBe('PENDING_VALIDATION');
  expect(created.redactedKey).toBe(`sk-proj-…${secret.slice(-4)}`);

  const list = await t.gql(
    `query($tenantId: ID!) { credentials(tenantId: $tenantId, first: 10) {
       edges { cursor node { id label provider { slug } redactedKey version activeVersion versions { version state } } }
       pageInfo { hasNextPage } } }`,
    { tenantId: tenant.id },
    admin,
  );
  expect(list.errors).toBeUndefined();
  expect(list.data.credentials.edges).toHaveLength(1);
  expect(list.data.credentials.edges[0].node).toMatchObject({
    label: 'prod',
    provider: { slug: 'openai' },
    version: 1,
    activeVersion: null,
    versions: [{ version: 1, state: 'PENDING' }],
  });

  const next = openaiKey();
  const rotated = await expectOk<any>(
    t.gql(
      'mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { version status redactedKey } userErrors { code } } }',
      { input: { id: created.id, secret: next } },
      admin,
    ),
    'rotateCredential',
  );
  expect(rotated.credential).toEqual({ version: 2, status: 'PENDING_VALIDATION', redactedKey: `sk-proj-…${next.slice(-4)}` });

  const revoked = await expectOk<any>(
    t.gql(
      'mutation($input: RevokeCredentialInput!) { revokeCredential(input: $input) { credential { status revokedAt } userErrors { code } } }',
      { input: { id: created.id } },
      admin,
    ),
    'revokeCredential',
  );
  expect(revoked.credential.status).toBe('REVOKED');
  const rows = await t.app.db.query('SELECT ciphertext, wrapped_key, fingerprint, state FROM credential_versions WHERE credential_id = $1', [
    created.id,
  ]);
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row).toEqual({ ciphertext: null, wrapped_key: null, fingerprint: null, state: 'REVOKED' });
});
