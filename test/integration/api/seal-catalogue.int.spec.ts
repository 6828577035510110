import { escapeIdentifier as ident } from 'pg';
import { SEAL_KINDS, SEALS, type SealKind } from '../../../src/crypto';
import { createCredential, createGateway, expectOk, openaiKey, providerId, tenantWithTokens, uniqueSlug } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
let columns: Map<string, string>;
let platformKeyId: string | null = null;

beforeAll(async () => {
  t = await startTestApp();
  const rows: { table_name: string; column_name: string; data_type: string }[] = await t.app.db.query(
    `SELECT c.table_name, c.column_name, c.data_type
       FROM information_schema.columns c
       JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND tb.table_type = 'BASE TABLE'`,
  );
  columns = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r.data_type]));
});
afterAll(async () => {
  if (platformKeyId) {
    await t.gql('mutation($input: RevokePlatformKeyInput!) { revokePlatformKey(input: $input) { userErrors { code } } }', {
      input: { id: platformKeyId },
    });
  }
  await t?.close();
});

describe('the seal catalogue against the migrated schema', () => {
  it('lists every column that holds a KEK version', () => {
    const listed = new Set(SEAL_KINDS.map((k) => `${k.table}.${k.columns.kekVersion}`));
    const unlisted = [...columns.keys()].filter((c) => /(^|_)kek_version$/.test(c.split('.')[1]) && !listed.has(c));
    // A new sealed column must be registered in src/crypto/seal-catalogue.ts, or key custody skips it.
    expect(unlisted).toEqual([]);
  });

  it.each(SEAL_KINDS.map((k) => [k.kind, k] as const))('%s: its table and columns exist, with the types a seal needs', (_name, kind) => {
    const wanted: [string, string | null][] = [
      [kind.primaryKey, null],
      [kind.objectColumn, null],
      ...('column' in kind.tenant ? [[kind.tenant.column, null] as [string, null]] : []),
      ...('column' in kind.version ? [[kind.version.column, 'integer'] as [string, string]] : []),
      [kind.columns.kekVersion, 'integer'],
      [kind.columns.wrappedKey, 'bytea'],
      [kind.columns.ciphertext, 'bytea'],
    ];
    const wrong = wanted
      .map(([column, type]) => ({ at: `${kind.table}.${column}`, want: type, got: columns.get(`${kind.table}.${column}`) }))
      .filter((c) => c.got === undefined || (c.want !== null && c.got !== c.want))
      .map((c) => `${c.at}: ${c.got ?? 'missing'}${c.want ? `, want ${c.want}` : ''}`);
    expect(wrong).toEqual([]);
  });
});

/** Reads and opens one sealed row from the catalogue entry alone, as a key-custody job would. */
async function openFromCatalogue(kind: SealKind, objectId: string): Promise<string[]> {
  const tenant = 'column' in kind.tenant ? ident(kind.tenant.column) : 'NULL';
  const version = 'column' in kind.version ? ident(kind.version.column) : 'NULL';
  const rows: { object_id: string; tenant_id: string | null; version: number | null; kek: number; wrapped: Buffer; ct: Buffer }[] =
    await t.app.db.query(
      `SELECT ${ident(kind.objectColumn)}::text AS object_id, ${tenant}::text AS tenant_id, ${version}::int AS version,
              ${ident(kind.columns.kekVersion)} AS kek, ${ident(kind.columns.wrappedKey)} AS wrapped, ${ident(kind.columns.ciphertext)} AS ct
         FROM ${ident(kind.table)} WHERE ${ident(kind.objectColumn)} = $1`,
      [objectId],
    );
  return Promise.all(
    rows.map((r) =>
      t.app.services.box.open(
        { kekVersion: r.kek, wrappedKey: r.wrapped, ciphertext: r.ct },
        kind.context({ objectId: r.object_id, tenantId: r.tenant_id ?? undefined, version: r.version ?? undefined }),
      ),
    ),
  );
}

describe('rows the API seals open from the catalogue alone', () => {
  it('a credential version, a gateway signing secret and a tenant notification secret', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const secret = openaiKey();
    const credential = await createCredential(t, admin, { tenantId: tenant.id, providerId: await providerId(t, 'openai'), secret });
    expect(await openFromCatalogue(SEALS.credentialVersion, credential.id)).toEqual([secret]);

    const gateway = await createGateway(t, admin, tenant.id);
    expect(await openFromCatalogue(SEALS.gatewaySigning, gateway.gateway.id)).toEqual([gateway.signingSecret]);

    const updated = await expectOk<{ notificationSigningSecret: string }>(
      t.gql(
        'mutation($input: UpdateTenantInput!) { updateTenant(input: $input) { notificationSigningSecret userErrors { field code } } }',
        { input: { id: tenant.id, notificationWebhookUrl: 'https://hooks.example.test/seals' } },
        admin,
      ),
      'updateTenant',
    );
    expect(await openFromCatalogue(SEALS.tenantNotification, tenant.id)).toEqual([updated.notificationSigningSecret]);
  });

  it('a platform key', async () => {
    // Platform keys are global: a provider of our own keeps this one away from other suites' gateways.
    const provider = await createFakeOpenAIProvider(t, 'http://127.0.0.1:9');
    const secret = openaiKey();
    const created = await expectOk<{ platformKey: { id: string } }>(
      t.gql('mutation($input: CreatePlatformKeyInput!) { createPlatformKey(input: $input) { platformKey { id } userErrors { field code } } }', {
        input: { providerId: provider, label: uniqueSlug('pk'), secret },
      }),
      'createPlatformKey',
    );
    platformKeyId = created.platformKey.id;
    expect(await openFromCatalogue(SEALS.platformKey, platformKeyId)).toEqual([secret]);
  });
});
