import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { Invalidations } from '../../../src/db/invalidations';
import type { LiveEventBus } from '../../../src/events';
import { TokenSessions } from '../../../src/graphql/socket-sessions';
import { hashToken } from '../../../src/crypto';
import { createCredential, createToken, expectOk, providerId, tenantWithTokens } from '../../factories';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_DATABASE_URL } from '../../helpers/test-env';
import { eventually } from '../../helpers/test-worker';
import { testLiveEvents } from '../../helpers/queue-backend';
import { letTimePass } from '../../helpers/time';

/*
 * Two API instances on one database, as behind a load balancer: a token revoked through one of
 * them (or straight in SQL) closes the subscriptions it opened on the other, through the
 * PostgreSQL notification every instance listens to. README: within 2 s (the bound asserted here).
 */
const BOUND_MS = 2000;
const prefix = `kp-revoke-${randomUUID().slice(0, 8)}`;
let a: TestApp;
let b: TestApp;
let events: LiveEventBus;
let openai: string;
const clients: Client[] = [];
const REVOKE = 'mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { userErrors { code } } }';
const CREDENTIAL_CHANGED = 'subscription($tenantId: ID!) { credentialChanged(tenantId: $tenantId) { credentialId } }';

beforeAll(async () => {
  a = await startTestApp({ QUEUE_PREFIX: prefix });
  b = await startTestApp({ QUEUE_PREFIX: prefix });
  events = testLiveEvents(prefix);
  openai = await providerId(a, 'openai');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await events?.close();
  await a?.close();
  await b?.close();
});

interface Watcher {
  tenantId: string;
  credentialId: string;
  received: string[];
  closed: { code: number; reason: string } | null;
}

/** A subscription on instance B, live (a probe event came through) before it returns. */
async function watch(token: string, tenantId: string): Promise<Watcher> {
  const credentialId = (await createCredential(a, ADMIN_TOKEN, { tenantId, providerId: openai })).id;
  const w: Watcher = { tenantId, credentialId, received: [], closed: null };
  const client = createClient({
    url: b.url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { closed: (e) => void (w.closed ??= { code: (e as CloseEvent).code, reason: String((e as CloseEvent).reason) }) },
  });
  clients.push(client);
  client.subscribe<{ credentialChanged: { credentialId: string } }>(
    { query: CREDENTIAL_CHANGED, variables: { tenantId } },
    { next: (r) => void (r.data && w.received.push(r.data.credentialChanged.credentialId)), error: () => {}, complete: () => {} },
  );
  await stillLive(w);
  return w;
}

/** The socket is open and delivering: a fresh event reaches it. */
async function stillLive(w: Watcher): Promise<void> {
  const before = w.received.length;
  await eventually(async () => {
    await events.publish('CREDENTIAL_CHANGED', { tenantId: w.tenantId, credentialId: w.credentialId });
    await new Promise((r) => setTimeout(r, 30));
    return w.received.length > before;
  });
  expect(w.closed).toBeNull();
}

async function closedWithin(w: Watcher, started: number): Promise<{ code: number; reason: string }> {
  const closed = await eventually(async () => w.closed, BOUND_MS + 1000);
  expect(Date.now() - started).toBeLessThan(BOUND_MS);
  return closed;
}

/** Another session than the API's pool: what an operator's psql would be. */
async function sql(text: string, params: unknown[]): Promise<void> {
  const pg = new PgClient({ connectionString: TEST_DATABASE_URL });
  await pg.connect();
  try {
    await pg.query(text, params);
  } finally {
    await pg.end();
  }
}

it('revoking a token on instance A closes its subscription on instance B with 4401; other tokens and tenants stay open', async () => {
  const one = await tenantWithTokens(a);
  const other = await tenantWithTokens(a);
  const doomed = await createToken(a, one.tenant.id, 'VIEWER');
  const revoked = await watch(doomed.token, one.tenant.id);
  const sibling = await watch(one.viewer, one.tenant.id);
  const stranger = await watch(other.viewer, other.tenant.id);

  const started = Date.now();
  await expectOk(a.gql(REVOKE, { input: { id: doomed.id } }, one.admin), 'revokeApiToken');
  expect(await closedWithin(revoked, started)).toEqual({ code: 4401, reason: 'Token revoked' });

  await stillLive(sibling);
  await stillLive(stranger);
  // Nothing more reaches the revoked subscriber.
  const seen = revoked.received.length;
  await events.publish('CREDENTIAL_CHANGED', { tenantId: one.tenant.id, credentialId: revoked.credentialId });
  await stillLive(sibling);
  expect(revoked.received).toHaveLength(seen);
  // The revoked token cannot come back on either instance.
  expect((await b.gql('{ viewer { role } }', {}, doomed.token)).status).toBe(401);
});

it('a token revoked straight in SQL, on another connection, closes its socket with 4401', async () => {
  const one = await tenantWithTokens(a);
  const doomed = await createToken(a, one.tenant.id, 'ADMIN');
  const revoked = await watch(doomed.token, one.tenant.id);
  const sibling = await watch(one.admin, one.tenant.id);
  const started = Date.now();
  await sql('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [doomed.id]);
  expect(await closedWithin(revoked, started)).toEqual({ code: 4401, reason: 'Token revoked' });
  await stillLive(sibling);
});

it('a token whose role changes (SQL only: the API has no such mutation) is closed with 4403 and may reconnect', async () => {
  const one = await tenantWithTokens(a);
  const changed = await createToken(a, one.tenant.id, 'ADMIN');
  const w = await watch(changed.token, one.tenant.id);
  const started = Date.now();
  await sql(`UPDATE api_tokens SET role = 'VIEWER' WHERE id = $1`, [changed.id]);
  expect(await closedWithin(w, started)).toEqual({ code: 4403, reason: 'Token changed' });
  // Reconnecting runs under the new role (VIEWER may still subscribe).
  const again = await watch(changed.token, one.tenant.id);
  expect(again.closed).toBeNull();
});

it("deleting a tenant (SQL only) closes its tokens' sockets with 4401, and no other tenant's", async () => {
  const gone = await tenantWithTokens(a);
  const kept = await tenantWithTokens(a);
  const w = await watch(gone.viewer, gone.tenant.id);
  const k = await watch(kept.viewer, kept.tenant.id);
  const started = Date.now();
  await sql('DELETE FROM tenants WHERE id = $1', [gone.tenant.id]);
  expect(await closedWithin(w, started)).toEqual({ code: 4401, reason: 'Token revoked' });
  await stillLive(k);
});

it('without the notification listener, the periodic re-check still closes a revoked token', async () => {
  const one = await tenantWithTokens(a);
  const doomed = await createToken(a, one.tenant.id, 'VIEWER');
  // Never started: hears nothing, as while the listener is down.
  const deaf = new Invalidations(TEST_DATABASE_URL, { warn: () => {} });
  const sessions = new TokenSessions(a.app.services.auth, deaf, { warn: () => {}, info: () => {} }, 200);
  try {
    const closes: [string, number][] = [];
    const session = (name: string, token: string, role: 'ADMIN' | 'VIEWER') => ({
      tokenHash: hashToken(token),
      tenantId: one.tenant.id,
      role,
      close: (code: number) => void closes.push([name, code]),
    });
    sessions.add(session('doomed', doomed.token, 'VIEWER'), deaf.ticket());
    sessions.add(session('viewer', one.viewer, 'VIEWER'), deaf.ticket());
    await letTimePass(500); // two and a half re-check periods (200 ms): proof that nothing closes in that window
    expect(closes).toEqual([]);
    await sql('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [doomed.id]);
    await eventually(async () => closes.length > 0, 2000);
    expect(closes[0]).toEqual(['doomed', 4401]);
    await letTimePass(500); // the same window after the revocation: nothing else closes
    expect(closes.every(([name]) => name === 'doomed')).toBe(true);
  } finally {
    sessions.close();
  }
});
