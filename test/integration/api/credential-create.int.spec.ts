import { randomUUID } from 'node:crypto';
import { openaiKey, tenantWithTokens } from '../../factories';
import { type TestApp } from '../../helpers/test-app';
import { enqueueManyInTx } from '../../../src/modules/outbox/outbox.writer';
import { oneTenantSuite } from '../../helpers/suites';

// createCredential writes everything in one statement; these pin what the old per-row inserts did.
const suite = oneTenantSuite();
let t: TestApp;
let tenantId: string;
let admin: string;
let openai: string;
beforeAll(() => {
  ({ t, tenantId, admin, openai } = suite);
});

const CREATE = `mutation($input: CreateCredentialInput!) { createCredential(input: $input) {
  credential { id label kind status redactedKey rotationPeriodDays rotateBy createdAt updatedAt version activeVersion }
  userErrors { field code }
} }`;

async function create(input: Record<string, unknown>) {
  const res = await t.gql(CREATE, { input: { tenantId, providerId: openai, secret: openaiKey(), ...input } }, admin);
  expect(res.data.createCredential.userErrors).toEqual([]);
  return res.data.createCredential.credential;
}

it('returns the stored row, with the database timestamps, and the tenant policy as rotation period', async () => {
  const c = await create({ label: '  spaced  ' });
  const [row] = await t.app.db.query(
    `SELECT created_at, updated_at, rotate_by, extract(epoch FROM rotate_by - created_at)::int AS secs FROM credentials WHERE id = $1`,
    [c.id],
  );
  expect(c).toMatchObject({
    label: 'spaced',
    kind: 'API_KEY',
    status: 'PENDING_VALIDATION',
    rotationPeriodDays: null,
    version: 1,
    activeVersion: null,
  });
  expect([c.createdAt, c.updatedAt, c.rotateBy]).toEqual([row.created_at, row.updated_at, row.rotate_by].map((d: Date) => d.toISOString()));
  expect(row.secs).toBe(90 * 86_400);
});

it('writes version 1, its validation job and the audit event, tied to the credential', async () => {
  const c = await create({ label: 'complete', rotationPeriodDays: 7 });
  const db = t.app.db;
  const [cred] = await db.query(`SELECT extract(epoch FROM rotate_by - created_at)::int AS secs FROM credentials WHERE id = $1`, [c.id]);
  expect(cred.secs).toBe(7 * 86_400);
  const versions = await db.query(
    'SELECT version, state, kek_version, ciphertext IS NOT NULL AS sealed, fingerprint IS NOT NULL AS fp, redacted_key FROM credential_versions WHERE credential_id = $1',
    [c.id],
  );
  expect(versions).toEqual([{ version: 1, state: 'PENDING', kek_version: 1, sealed: true, fp: true, redacted_key: c.redactedKey }]);
  const jobs = await db.query(`SELECT tenant_id, queue, job_name, job_id, payload FROM outbox WHERE payload->>'credentialId' = $1 ORDER BY id`, [
    c.id,
  ]);
  const payload = { tenantId, credentialId: c.id, version: 1 };
  expect(jobs).toEqual([
    { tenant_id: tenantId, queue: 'credentials', job_name: 'validate-credential', job_id: `validate-credential-${c.id}-v1`, payload },
  ]); // no duplicate check at create time: the validation queues it once the key works (issue 14)
  const audit = await db.query(`SELECT actor_type, action, target_type, details, request_id FROM audit_events WHERE target_id = $1`, [c.id]);
  expect(audit).toEqual([
    {
      actor_type: 'API_TOKEN',
      action: 'CREDENTIAL_CREATED',
      target_type: 'CREDENTIAL',
      details: {
        provider: 'openai',
        label: 'complete',
        kind: 'API_KEY',
        redactedKey: c.redactedKey,
        keyRefs: [{ ref: expect.stringMatching(/^kr1_[0-9a-f]{32}$/), version: 1 }],
      },
      request_id: expect.any(String),
    },
  ]);
});

it('writes nothing and answers NOT_FOUND when the tenant is gone by the time of the insert', async () => {
  const ghost = randomUUID();
  await expect(
    t.app.services.credentials.create(
      ghost,
      { type: 'SYSTEM', id: null, requestId: null },
      { providerId: openai, label: 'ghost', secret: openaiKey() },
    ),
  ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  const [left] = await t.app.db.query(
    `SELECT (SELECT count(*) FROM credentials WHERE tenant_id = $1)::int AS c, (SELECT count(*) FROM credential_versions WHERE tenant_id = $1)::int AS v,
            (SELECT count(*) FROM outbox WHERE tenant_id = $1)::int AS o, (SELECT count(*) FROM audit_events WHERE tenant_id = $1)::int AS a`,
    [ghost],
  );
  expect(left).toEqual({ c: 0, v: 0, o: 0, a: 0 });
});

it('enqueueManyInTx writes several jobs in one statement, in order, and nothing for an empty list', async () => {
  const credentialId = randomUUID();
  let statements = 0;
  await t.app.db.transaction(async (tx) => {
    const query = tx.query.bind(tx);
    tx.query = ((...args: Parameters<typeof query>) => (statements++, query(...args))) as typeof tx.query;
    await enqueueManyInTx(tx, []);
    await enqueueManyInTx(
      tx,
      [1, 2, 3].map((version) => ({ name: 'validate-credential' as const, payload: { tenantId, credentialId, version, sweep: 'x' } })),
    );
  });
  expect(statements).toBe(1);
  const jobs = await t.app.db.query(`SELECT job_id FROM outbox WHERE payload->>'credentialId' = $1 ORDER BY id`, [credentialId]);
  expect(jobs.map((j: { job_id: string }) => j.job_id)).toEqual([1, 2, 3].map((v) => `validate-credential-${credentialId}-v${v}-sx`));
});

describe('concurrent creates (group commit)', () => {
  const statements = () => {
    const spy = jest.spyOn(t.app.db, 'query');
    return () => spy.mock.calls.filter(([sql]) => String(sql).includes('INSERT INTO credentials')).length;
  };
  afterEach(() => jest.restoreAllMocks());

  it('share statements, and each request gets its own credential, version, checks and audit event', async () => {
    const other = await tenantWithTokens(t);
    const count = statements();
    // Two tenants at once: a batch may mix them, the rows never do.
    const requests = Array.from({ length: 24 }, (_, i) => {
      const [tenant, token] = i % 2 === 0 ? [tenantId, admin] : [other.tenant.id, other.admin];
      return fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': `batch-${i}` },
        body: JSON.stringify({
          query: CREATE,
          variables: { input: { tenantId: tenant, providerId: openai, secret: openaiKey(), label: `batch-${i}` } },
        }),
      }).then(async (r) => ({ i, tenant, body: (await r.json()) as any }));
    });
    const answers = await Promise.all(requests);
    expect(count()).toBeLessThan(24);
    for (const { i, tenant, body } of answers) {
      expect(body.data.createCredential.userErrors).toEqual([]);
      const c = body.data.createCredential.credential;
      expect(c.label).toBe(`batch-${i}`);
      const [row] = await t.app.db.query(
        `SELECT c.tenant_id, c.label, v.tenant_id AS v_tenant, v.redacted_key,
                (SELECT array_agg(job_name ORDER BY id) FROM outbox o WHERE o.payload->>'credentialId' = c.id::text AND o.tenant_id = c.tenant_id) AS jobs,
                (SELECT array_agg(request_id) FROM audit_events a WHERE a.target_id = c.id::text AND a.tenant_id = c.tenant_id) AS audit
           FROM credentials c JOIN credential_versions v ON v.credential_id = c.id WHERE c.id = $1`,
        [c.id],
      );
      expect(row).toEqual({
        tenant_id: tenant,
        label: `batch-${i}`,
        v_tenant: tenant,
        redacted_key: c.redactedKey,
        jobs: ['validate-credential'],
        audit: [`batch-${i}`],
      });
    }
  });

  it('a label already taken fails only its own request; the others in its statement are stored', async () => {
    const taken = await create({ label: 'taken-in-batch' });
    const results = await Promise.all(
      ['fresh-a', 'taken-in-batch', 'fresh-b'].map((label) =>
        t.gql(CREATE, { input: { tenantId, providerId: openai, secret: openaiKey(), label } }, admin).then((r) => r.data.createCredential),
      ),
    );
    expect(results.map((r) => r.userErrors)).toEqual([[], [{ field: ['input', 'label'], code: 'LABEL_TAKEN' }], []]);
    const rows = await t.app.db.query(`SELECT label FROM credentials WHERE tenant_id = $1 AND label = ANY($2) ORDER BY label`, [
      tenantId,
      ['fresh-a', 'fresh-b', 'taken-in-batch'],
    ]);
    expect(rows.map((r: { label: string }) => r.label)).toEqual(['fresh-a', 'fresh-b', 'taken-in-batch']);
    expect(taken.id).toBeDefined();
  });

  it('two requests for the same new label in one statement: exactly one wins', async () => {
    const results = await Promise.all(
      [1, 2].map(() =>
        t
          .gql(CREATE, { input: { tenantId, providerId: openai, secret: openaiKey(), label: 'same-time' } }, admin)
          .then((r) => r.data.createCredential),
      ),
    );
    expect(results.map((r) => r.userErrors.length).sort()).toEqual([0, 1]);
    const [{ n }] = await t.app.db.query(`SELECT count(*)::int AS n FROM credentials WHERE tenant_id = $1 AND label = 'same-time'`, [tenantId]);
    expect(n).toBe(1);
  });
});
