import { Client } from 'pg';
import type { Counter } from 'prom-client';
import { createDataSource } from '../../../src/db/data-source';
import { createCredential, createGateway, expectOk, providerId, tenantWithTokens } from '../../factories';
import { attachCredential, markActive, revokeCredential } from '../../factories/credentials';
import { startPrivatePgPair, type PrivatePgPair } from '../../helpers/private-pg-replica';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually } from '../../helpers/test-worker';

/*
 * DATABASE_REPLICA_URLS on a real streaming replica: a private primary and a `pg_basebackup -R`
 * replica of the test's own (the shared server is not touched), two API processes' worth of apps
 * on them. Replay is paused (pg_wal_replay_pause) to make the replica visibly behind: what a query
 * returns then tells which server answered.
 */
const MAX_LAG_MS = 1500;
let pair: PrivatePgPair;
let a: TestApp;
let b: TestApp;
let outside: Client;

const env = () => ({
  DATABASE_URL: pair.primaryUrlFor('keyplane'),
  DATABASE_REPLICA_URLS: pair.replicaUrlFor('keyplane'),
  DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
  DATABASE_REPLICA_PROBE_MS: '50',
});

beforeAll(async () => {
  pair = await startPrivatePgPair();
  const admin = new Client({ connectionString: pair.primaryUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE keyplane');
  await admin.end();
  const db = createDataSource(pair.primaryUrlFor('keyplane'), 2);
  await db.initialize();
  await db.runMigrations({ transaction: 'each' });
  await db.destroy();
  await pair.caughtUp();
  a = await startTestApp(env());
  b = await startTestApp(env());
  outside = new Client({ connectionString: pair.primaryUrlFor('keyplane') });
  await outside.connect();
}, 120_000);

afterAll(async () => {
  await outside?.end();
  await a?.close();
  await b?.close();
  await pair?.close();
}, 60_000);

afterEach(async () => {
  await pair.resumeReplay().catch(() => undefined);
});

async function count(metric: Counter, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}
const reads = (t: TestApp, target: 'replica' | 'primary') => count(t.app.services.replicas!.metrics.reads, { target });
const fallbacks = (t: TestApp, reason: string) => count(t.app.services.replicas!.metrics.fallbacks, { reason });

/** Both apps have measured the replica after it replayed everything written so far. */
async function replicaFresh(): Promise<void> {
  await pair.caughtUp();
  await Promise.all([a, b].map((t) => t.app.services.replicas!.probeNow()));
}

const LABELS = 'query($tenantId: ID!) { credentials(tenantId: $tenantId, first: 50) { edges { node { id label } } } }';
const labelsOf = async (t: TestApp, token: string, tenantId: string): Promise<string[]> => {
  const res = await t.gql(LABELS, { tenantId }, token);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.credentials.edges.map((e: { node: { label: string } }) => e.node.label).sort();
};

/** A tenant with one credential, replicated and measured. */
async function tenantWithKey(t: TestApp) {
  const world = await tenantWithTokens(t);
  const openai = await providerId(t, 'openai');
  const credential = await createCredential(t, world.admin, { tenantId: world.tenant.id, providerId: openai, label: 'original' });
  await replicaFresh();
  return { ...world, credential, openai };
}

/** A change no API process hears of (no trigger fires): what a worker's write looks like to the router. */
async function renameUnheard(credentialId: string, label: string): Promise<void> {
  await outside.query('BEGIN');
  await outside.query("SET LOCAL session_replication_role = 'replica'");
  await outside.query('UPDATE credentials SET label = $2 WHERE id = $1', [credentialId, label]);
  await outside.query('COMMIT');
}

describe('read replicas', () => {
  it('a list query reads from a fresh replica; past the lag bound the primary answers and the fallback is counted', async () => {
    const w = await tenantWithKey(a);
    await pair.pauseReplay();
    await renameUnheard(w.credential.id, 'renamed on the primary');
    const before = await reads(b, 'replica');
    // Within the bound, the replica (which has not replayed the rename) answers.
    expect(await labelsOf(b, w.admin, w.tenant.id)).toEqual(['original']);
    expect(await reads(b, 'replica')).toBe(before + 1);
    // Past the bound it is too far behind: the primary answers, and the metric says why.
    const lagged = await fallbacks(b, 'lag');
    await new Promise((r) => setTimeout(r, MAX_LAG_MS + 200));
    expect(await labelsOf(b, w.admin, w.tenant.id)).toEqual(['renamed on the primary']);
    expect(await fallbacks(b, 'lag')).toBe(lagged + 1);
    await pair.resumeReplay();
    // Caught up again: back on the replica.
    await replicaFresh();
    const again = await reads(b, 'replica');
    expect(await labelsOf(b, w.admin, w.tenant.id)).toEqual(['renamed on the primary']);
    expect(await reads(b, 'replica')).toBe(again + 1);
  });

  it("reads its own writes on every process at once, while other tenants' queries still use the replica", async () => {
    const w = await tenantWithKey(a);
    const other = await tenantWithKey(a);
    await pair.pauseReplay();
    await expectOk(
      a.gql(
        'mutation($input: UpdateCredentialInput!) { updateCredential(input: $input) { userErrors { code } } }',
        {
          input: { id: w.credential.id, label: 'renamed by the client' },
        },
        w.admin,
      ),
      'updateCredential',
    );
    // The very next request, on another process: the tenant's reads go to the primary.
    const recent = await fallbacks(b, 'recent_write');
    expect(await labelsOf(b, w.admin, w.tenant.id)).toEqual(['renamed by the client']);
    expect(await labelsOf(a, w.admin, w.tenant.id)).toEqual(['renamed by the client']);
    expect(await fallbacks(b, 'recent_write')).toBe(recent + 1);
    // Another tenant has written nothing: its query is still served by the replica.
    const onReplica = await reads(b, 'replica');
    expect(await labelsOf(b, other.admin, other.tenant.id)).toEqual(['original']);
    expect(await reads(b, 'replica')).toBe(onReplica + 1);
  });

  it('a revoked token and a revoked credential stop working on every process at once, with replay paused', async () => {
    const w = await tenantWithKey(a);
    const gw = await createGateway(a, w.admin, w.tenant.id);
    await markActive(a, w.credential.id);
    await attachCredential(a, w.admin, { gatewayId: gw.gateway.id, credentialId: w.credential.id });
    const pull = async (t: TestApp, etag?: string) => {
      const res = await fetch(`${t.url}/v1/gateway/config`, {
        headers: { authorization: `Bearer ${gw.gatewayKey}`, ...(etag ? { 'if-none-match': etag } : {}) },
      });
      const text = await res.text();
      return { status: res.status, etag: res.headers.get('etag'), text };
    };
    await replicaFresh();
    const first = await pull(b);
    expect(first.status).toBe(200);
    expect(first.text).toContain(w.credential.id);
    expect((await b.gql('{ viewer { role } }', {}, w.viewer)).status).toBe(200);

    await pair.pauseReplay();
    await revokeCredential(a, w.admin, w.credential.id);
    await expectOk(
      a.gql(
        'mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { userErrors { code } } }',
        { input: { id: w.viewerTokenId } },
        w.admin,
      ),
      'revokeApiToken',
    );
    // The replica still holds both as they were; neither process may act on that.
    const onReplica = new Client({ connectionString: pair.replicaUrlFor('keyplane') });
    await onReplica.connect();
    const stale = await onReplica.query('SELECT revoked_at FROM api_tokens WHERE id = $1', [w.viewerTokenId]);
    await onReplica.end();
    expect(stale.rows[0].revoked_at).toBeNull();
    for (const t of [a, b]) {
      const res = await t.gql('{ viewer { role } }', {}, w.viewer);
      expect(res.status).toBe(401);
      const again = await pull(t, first.etag!);
      expect(again.status).toBe(200);
      expect(again.etag).not.toBe(first.etag);
      expect(again.text).not.toContain(w.credential.id);
    }
  });

  it('a replica that is down: reads fall back to the primary, /readyz stays ready and names it, an API still starts; it comes back', async () => {
    const w = await tenantWithKey(a);
    await pair.stopReplica();
    try {
      await eventually(async () => {
        await b.app.services.replicas!.probeNow();
        return b.app.services.replicas!.status()['replica-0'] === 'down';
      }, 10_000);
      const down = await fallbacks(b, 'down');
      expect(await labelsOf(b, w.admin, w.tenant.id)).toEqual(['original']);
      expect(await fallbacks(b, 'down')).toBe(down + 1);
      const ready = await fetch(`${b.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks['replica-0']).toBe('down');
      // Starting with the replica unreachable is not an error either.
      const c = await startTestApp(env());
      try {
        expect(await labelsOf(c, w.admin, w.tenant.id)).toEqual(['original']);
      } finally {
        await c.close();
      }
    } finally {
      await pair.startReplica();
    }
    await replicaFresh();
    const back = await reads(b, 'replica');
    expect(await labelsOf(b, w.admin, w.tenant.id)).toEqual(['original']);
    expect(await reads(b, 'replica')).toBe(back + 1);
  }, 60_000);

  it('mutations and authentication never touch the replica; the cache listener stays on the primary', async () => {
    const w = await tenantWithKey(a);
    const onReplica = new Client({ connectionString: pair.replicaUrlFor('keyplane') });
    await onReplica.connect();
    const { rows } = await onReplica.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'keyplane' AND application_name = 'keyplane-invalidations'",
    );
    await onReplica.end();
    expect(rows[0].n).toBe(0);
    await pair.pauseReplay();
    // With replay paused, a mutation that read from the replica could not see the row it changes.
    await expectOk(
      a.gql(
        'mutation($input: UpdateCredentialInput!) { updateCredential(input: $input) { userErrors { code } } }',
        {
          input: { id: w.credential.id, label: 'first' },
        },
        w.admin,
      ),
      'updateCredential',
    );
    const second = await a.gql(
      'mutation($input: UpdateCredentialInput!) { updateCredential(input: $input) { credential { label } userErrors { code } } }',
      { input: { id: w.credential.id, label: 'second' } },
      w.admin,
    );
    expect(second.data.updateCredential.credential.label).toBe('second');
  });

  it("while the listener on the primary is down no query reads a replica (other processes' writes could not be heard)", async () => {
    const w = await tenantWithKey(b);
    await pair.pauseReplay();
    await renameUnheard(w.credential.id, 'renamed while deaf');
    const pid = (b.app.services.invalidations as unknown as { client: { processID: number } }).client.processID;
    await outside.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually(async () => !b.app.services.invalidations.listening, 5000);
    const deaf = await fallbacks(b, 'listener');
    expect(await labelsOf(b, w.admin, w.tenant.id)).toEqual(['renamed while deaf']);
    expect(await fallbacks(b, 'listener')).toBe(deaf + 1);
    await eventually(async () => b.app.services.invalidations.listening, 10_000);
  });

  it('a URL that is not a standby (the primary itself, a promoted replica) is never read from', async () => {
    const c = await startTestApp({ ...env(), DATABASE_REPLICA_URLS: pair.primaryUrlFor('keyplane') });
    try {
      const w = await tenantWithKey(c);
      await c.app.services.replicas!.probeNow();
      expect(c.app.services.replicas!.status()).toEqual({ 'replica-0': 'down' });
      expect(await labelsOf(c, w.admin, w.tenant.id)).toEqual(['original']);
      expect(await count(c.app.services.replicas!.metrics.reads, { target: 'replica' })).toBe(0);
      expect(c.logs.join('')).toMatch(/not a standby.*database replica unreachable|database replica unreachable.*not a standby/);
    } finally {
      await c.close();
    }
  });
});
