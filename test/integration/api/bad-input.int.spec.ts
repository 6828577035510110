import { randomBytes, randomUUID } from 'node:crypto';
import { createCredential, createGateway, createTenant, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../../factories';
import { scanTexts, describeHits } from '../../helpers/leak-scan';
import { ADMIN_TOKEN, type GqlResult, type TestApp } from '../../helpers/test-app';
import { oneTenantSuite } from '../../helpers/suites';

const suite = oneTenantSuite();
let t: TestApp;
let tenantId: string;
let admin: string;
let openai: string;
beforeAll(() => {
  ({ t, tenantId, admin, openai } = suite);
});

const alnum = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);
const CREATE = `mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { field code message } } }`;
const GATEWAY = `mutation($input: CreateGatewayInput!) { createGateway(input: $input) { gateway { id } gatewayKey userErrors { field code message } } }`;
const TENANT = `mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } userErrors { field code message } } }`;
const ATTACH = `mutation($input: AttachCredentialInput!) { attachCredential(input: $input) { gateway { id } userErrors { field code message } } }`;
const DETACH = `mutation($input: DetachCredentialInput!) { detachCredential(input: $input) { gateway { id } userErrors { field code message } } }`;
const ROTATE = `mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { id } userErrors { field code message } } }`;
const REVOKE = `mutation($input: RevokeCredentialInput!) { revokeCredential(input: $input) { credential { id } userErrors { field code message } } }`;
const REVERT = `mutation($input: RevertToPlatformKeysInput!) { revertToPlatformKeys(input: $input) { tenant { id } revokedCredentials userErrors { field code message } } }`;
const UPSERT = `mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id keyPattern } userErrors { field code message } } }`;

/** Everything a mutation of this tenant could write. */
async function counts(tid: string) {
  const [row] = await t.app.db.query(
    `SELECT (SELECT count(*) FROM credentials WHERE tenant_id = $1)::int AS credentials,
            (SELECT count(*) FROM credential_versions WHERE tenant_id = $1)::int AS versions,
            (SELECT count(*) FROM credential_versions WHERE tenant_id = $1 AND ciphertext IS NOT NULL)::int AS sealed,
            (SELECT count(*) FROM credentials WHERE tenant_id = $1 AND revoked_at IS NULL)::int AS live,
            (SELECT count(*) FROM outbox WHERE tenant_id = $1)::int AS outbox,
            (SELECT count(*) FROM audit_events WHERE tenant_id = $1)::int AS audit,
            (SELECT count(*) FROM gateways WHERE tenant_id = $1)::int AS gateways,
            (SELECT count(*) FROM gateway_credentials WHERE tenant_id = $1)::int AS attachments,
            (SELECT coalesce(sum(config_version), 0) FROM gateways WHERE tenant_id = $1)::int AS config,
            (SELECT byok_mode FROM tenants WHERE id = $1) AS mode`,
    [tid],
  );
  return row;
}

type Expected = [code: string, field: string][];
const keyOf = (e: { code: string; field: string[] | null }) => `${e.code}@${(e.field ?? []).join('.')}`;

/** Runs a mutation that must fail with exactly these userErrors, echo no secret, and write nothing. */
async function rejected(
  query: string,
  input: Record<string, unknown>,
  expected: Expected,
  opts: { secret?: string; tid?: string; token?: string | null } = {},
) {
  const tid = opts.tid ?? tenantId;
  const before = await counts(tid);
  const logsBefore = t.logs.length;
  const res: GqlResult = await t.gql(query, { input }, opts.token === undefined ? admin : opts.token);
  expect(res.errors).toBeUndefined();
  const payload = Object.values(res.data as Record<string, any>)[0];
  expect(payload.userErrors.map(keyOf).sort()).toEqual(expected.map(([code, f]) => `${code}@input.${f}`).sort());
  for (const value of Object.values(payload)) if (value !== payload.userErrors) expect(value).toBeNull();
  const secret = opts.secret ?? (typeof input.secret === 'string' ? input.secret : undefined);
  if (secret) {
    const hits = scanTexts(
      [{ where: 'response', text: res.raw }, ...t.logs.slice(logsBefore).map((text, i) => ({ where: `log ${i}`, text }))],
      [secret],
    );
    expect(describeHits(hits)).toBe('');
  }
  expect(await counts(tid)).toEqual(before);
  return payload;
}

const validInput = (over: Record<string, unknown> = {}) => ({ tenantId, providerId: openai, label: uniqueSlug('key'), secret: openaiKey(), ...over });

describe('createCredential rejects bad input and writes nothing', () => {
  const key = () => openaiKey();
  it.each<[string, () => Record<string, unknown>, string, string]>([
    ['an empty secret', () => ({ secret: '' }), 'SECRET_EMPTY', 'secret'],
    ['a whitespace-only secret', () => ({ secret: ' \t \n ' }), 'SECRET_EMPTY', 'secret'],
    ['a multi-line secret', () => ({ secret: `${key()}\nsecond-line-${alnum(20)}` }), 'SECRET_MULTILINE', 'secret'],
    ['a secret with an inner space', () => ({ secret: ((k) => `${k.slice(0, 24)} ${k.slice(24)}`)(key()) }), 'SECRET_INVALID_CHARACTERS', 'secret'],
    ['a 5000-character secret', () => ({ secret: `sk-proj-${alnum(4992)}` }), 'SECRET_TOO_LONG', 'secret'],
    ['a Gemini-shaped key sent for OpenAI', () => ({ secret: `AIza${alnum(35)}` }), 'KEY_FORMAT_MISMATCH', 'secret'],
    ['an unknown provider id', () => ({ providerId: randomUUID() }), 'UNKNOWN_PROVIDER', 'providerId'],
    ['a provider id that is not a UUID', () => ({ providerId: 'openai' }), 'UNKNOWN_PROVIDER', 'providerId'],
    ['an empty label', () => ({ label: '' }), 'LABEL_INVALID', 'label'],
    ['a 101-character label', () => ({ label: 'x'.repeat(101) }), 'LABEL_TOO_LONG', 'label'],
    ['rotationPeriodDays 0', () => ({ rotationPeriodDays: 0 }), 'OUT_OF_RANGE', 'rotationPeriodDays'],
    ['rotationPeriodDays 5000', () => ({ rotationPeriodDays: 5000 }), 'OUT_OF_RANGE', 'rotationPeriodDays'],
  ])('%s', async (_name, over, code, field) => {
    await rejected(CREATE, validInput(over()), [[code, field]]);
  });

  it('a duplicate label is LABEL_TAKEN', async () => {
    await createCredential(t, admin, { tenantId, providerId: openai, label: 'dup' });
    await rejected(CREATE, validInput({ label: 'dup' }), [['LABEL_TAKEN', 'label']]);
  });

  it('reports several bad fields in one response', async () => {
    await rejected(CREATE, validInput({ secret: '', label: '', rotationPeriodDays: 0, providerId: randomUUID() }), [
      ['SECRET_EMPTY', 'secret'],
      ['LABEL_INVALID', 'label'],
      ['OUT_OF_RANGE', 'rotationPeriodDays'],
      ['UNKNOWN_PROVIDER', 'providerId'],
    ]);
    await rejected(GATEWAY, { tenantId, name: ' ', slug: 'Bad Slug!', webhookUrl: 'ftp://x' }, [
      ['NAME_INVALID', 'name'],
      ['SLUG_INVALID', 'slug'],
      ['URL_INVALID', 'webhookUrl'],
    ]);
  });

  it('a GraphQL type error is BAD_USER_INPUT without the value, the secret or a stack trace', async () => {
    const marker = `days-${alnum(16)}`;
    const secret = openaiKey();
    const before = await counts(tenantId);
    const logsBefore = t.logs.length;
    for (const input of [
      validInput({ secret, rotationPeriodDays: marker }),
      validInput({ secret, label: 'semi;colon', unknownField: 1 }), // a ';' inside another value must not end the scrub
      validInput({ secret: [secret] }),
      validInput({ secret, kind: `NOPE;${marker}` }),
    ]) {
      const res = await t.gql(CREATE, { input }, admin);
      expect(res.status).toBe(400);
      expect(res.data).toBeUndefined();
      expect(res.errors).toHaveLength(1);
      expect(res.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT' });
      expect(res.errors![0].message).toMatch(/^Variable "\$input" got an invalid value/);
      expect(res.raw).not.toContain(marker);
      expect(res.raw).not.toMatch(/stacktrace|node_modules|\n\s+at /);
      expect(describeHits(scanTexts([{ where: 'response', text: res.raw }], [secret]))).toBe('');
    }
    const logs = t.logs.slice(logsBefore).map((text, i) => ({ where: `log ${i}`, text }));
    expect(describeHits(scanTexts(logs, [secret, marker]))).toBe('');
    expect(await counts(tenantId)).toEqual(before);
  });
});

describe('tenants, gateways and attachments', () => {
  it('rejects an invalid and a duplicate tenant slug', async () => {
    const slugCount = async (slug: string) =>
      (
        await t.app.db.query(
          `SELECT (SELECT count(*) FROM tenants WHERE slug = $1)::int + (SELECT count(*) FROM audit_events WHERE details->>'slug' = $1)::int AS n`,
          [slug],
        )
      )[0].n;
    await rejected(TENANT, { name: 'Bad', slug: 'Bad Slug!' }, [['SLUG_INVALID', 'slug']], { token: ADMIN_TOKEN });
    expect(await slugCount('Bad Slug!')).toBe(0);
    const existing = await createTenant(t);
    const before = await slugCount(existing.slug);
    expect(before).toBe(2); // the row and its TENANT_CREATED event
    const res = await t.gql(TENANT, { input: { name: 'Again', slug: existing.slug } });
    expect(res.data.createTenant).toEqual({ tenant: null, userErrors: [expect.objectContaining({ code: 'SLUG_TAKEN', field: ['input', 'slug'] })] });
    expect(await slugCount(existing.slug)).toBe(before);
  });

  it('rejects an invalid gateway slug and webhook URLs', async () => {
    await rejected(GATEWAY, { tenantId, name: 'Edge', slug: 'Bad Slug!' }, [['SLUG_INVALID', 'slug']]);
    await rejected(GATEWAY, { tenantId, name: 'Edge', slug: uniqueSlug('gw'), webhookUrl: 'ftp://x' }, [['URL_INVALID', 'webhookUrl']]);
    await rejected(GATEWAY, { tenantId, name: 'Edge', slug: uniqueSlug('gw'), webhookUrl: 'not a url' }, [['URL_INVALID', 'webhookUrl']]);
  });

  it('allows 15 keys per provider on a gateway, then ATTACHMENT_LIMIT_REACHED, ALREADY_ATTACHED and NOT_ATTACHED', async () => {
    const own = await tenantWithTokens(t);
    const tid = own.tenant.id;
    const gateway = (await createGateway(t, own.admin, tid)).gateway.id;
    const creds: string[] = [];
    for (let i = 0; i < 16; i++) creds.push((await createCredential(t, own.admin, { tenantId: tid, providerId: openai })).id);
    for (const credentialId of creds.slice(0, 15)) {
      await expectOk(t.gql(ATTACH, { input: { gatewayId: gateway, credentialId } }, own.admin), 'attachCredential');
    }
    expect((await counts(tid)).attachments).toBe(15);
    const opts = { tid, token: own.admin };
    await rejected(ATTACH, { gatewayId: gateway, credentialId: creds[15] }, [['ATTACHMENT_LIMIT_REACHED', 'credentialId']], opts);
    await rejected(ATTACH, { gatewayId: gateway, credentialId: creds[3] }, [['ALREADY_ATTACHED', 'credentialId']], opts);
    await rejected(DETACH, { gatewayId: gateway, credentialId: creds[15] }, [['NOT_ATTACHED', 'credentialId']], opts);
  });

  it('rotate and revoke of a revoked credential are CREDENTIAL_REVOKED', async () => {
    const { id } = await createCredential(t, admin, { tenantId, providerId: openai });
    await expectOk(t.gql(REVOKE, { input: { id } }, admin), 'revokeCredential');
    await rejected(ROTATE, { id, secret: openaiKey() }, [['CREDENTIAL_REVOKED', 'id']]);
    await rejected(REVOKE, { id }, [['CREDENTIAL_REVOKED', 'id']]);
  });

  it('revertToPlatformKeys with a wrong confirmation deletes nothing', async () => {
    const own = await tenantWithTokens(t);
    await createCredential(t, own.admin, { tenantId: own.tenant.id, providerId: openai });
    const before = await counts(own.tenant.id);
    expect(before).toMatchObject({ live: 1, sealed: 1, mode: 'BYOK' });
    for (const confirm of ['wrong', own.tenant.slug.toUpperCase(), ` ${own.tenant.slug}`]) {
      await rejected(REVERT, { tenantId: own.tenant.id, confirm }, [['CONFIRMATION_MISMATCH', 'confirm']], { tid: own.tenant.id, token: own.admin });
    }
  });
});

describe('provider catalog', () => {
  const auditOf = async (slug: string) =>
    (await t.app.db.query(`SELECT count(*)::int AS n FROM audit_events WHERE target_type = 'PROVIDER' AND details->>'slug' = $1`, [slug]))[0].n;
  const patternOf = async () => (await t.app.db.query(`SELECT key_pattern FROM providers WHERE slug = 'openai'`))[0].key_pattern as string;
  let original: string;
  beforeAll(async () => (original = await patternOf()));
  afterAll(() => t.gql(UPSERT, { input: { slug: 'openai', keyPattern: original } }));

  it('rejects an invalid regex and a new provider missing its required fields', async () => {
    const audits = await auditOf('openai');
    const bad = await t.gql(UPSERT, { input: { slug: 'openai', keyPattern: '^sk-(unclosed' } });
    expect(bad.data.upsertProvider).toEqual({
      provider: null,
      userErrors: [expect.objectContaining({ code: 'PATTERN_INVALID', field: ['input', 'keyPattern'] })],
    });
    expect(await patternOf()).toBe(original);
    expect(await auditOf('openai')).toBe(audits);

    const slug = uniqueSlug('prov');
    const missing = await t.gql(UPSERT, { input: { slug, name: 'Half' } });
    expect(missing.data.upsertProvider.provider).toBeNull();
    expect(missing.data.upsertProvider.userErrors.map(keyOf).sort()).toEqual(
      ['apiShape', 'authScheme', 'baseUrl', 'keyPattern'].map((f) => `INVALID_INPUT@input.${f}`),
    );
    expect((await t.app.db.query('SELECT count(*)::int AS n FROM providers WHERE slug = $1', [slug]))[0].n).toBe(0);
    expect(await auditOf(slug)).toBe(0);
  });

  it('a format rule changed at run time applies to the next key, and relaxing it accepts the key again', async () => {
    const legacy = `sk-${alnum(48)}`; // an old-style key: valid-looking, no project prefix
    const strict = '^sk-(proj|svcacct|admin)-[A-Za-z0-9_-]{20,}$';
    await expectOk(t.gql(UPSERT, { input: { slug: 'openai', keyPattern: strict } }), 'upsertProvider');
    await rejected(CREATE, validInput({ secret: legacy }), [['KEY_FORMAT_MISMATCH', 'secret']]);
    await createCredential(t, admin, { tenantId, providerId: openai, secret: openaiKey() }); // project keys still pass

    await expectOk(t.gql(UPSERT, { input: { slug: 'openai', keyPattern: original } }), 'upsertProvider');
    expect(await patternOf()).toBe(original);
    const accepted = await createCredential(t, admin, { tenantId, providerId: openai, secret: legacy });
    expect(accepted.redactedKey).toBe(`sk-…${legacy.slice(-4)}`);
  });
});
