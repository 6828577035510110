import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { tenantWithTokens } from '../../factories';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_REDIS_URL } from '../../helpers/test-worker';
import { dropQueueNamespace, onPostgresQueues } from '../../helpers/queue-backend';

const OPS_TOKEN = 'test-ops-readonly-token-0123456789abcdef';
const prefix = `kp-dash-${randomUUID().slice(0, 8)}`;
let t: TestApp;
let tenant: Awaited<ReturnType<typeof tenantWithTokens>>;

beforeAll(async () => {
  // A prefix of its own: the admin test below cleans a queue for real.
  t = await startTestApp({ KEYPLANE_OPS_READONLY_TOKEN: OPS_TOKEN, QUEUE_PREFIX: prefix });
  tenant = await tenantWithTokens(t);
});

afterAll(async () => {
  await t?.close();
  // What the admin's clean left under this run's prefix (never anything else in the shared store).
  if (onPostgresQueues) return dropQueueNamespace(prefix);
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (token: string, user = 'ops') => ({ authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` });

function get(path: string, headers: Record<string, string> = {}) {
  return fetch(`${t.url}${path}`, { headers, redirect: 'manual' });
}

function put(path: string, headers: Record<string, string> = {}) {
  return fetch(`${t.url}${path}`, { method: 'PUT', headers, redirect: 'manual' });
}

describe('who may open /admin/queues', () => {
  it('asks for credentials (Basic challenge) when none are sent', async () => {
    const res = await get('/admin/queues');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="keyplane"/);
    const api = await get('/admin/queues/api/queues');
    expect(api.status).toBe(401);
  });

  it('refuses a wrong token like no token', async () => {
    for (const headers of [bearer('kp_' + 'x'.repeat(43)), basic('not-the-token'), { authorization: 'Basic !!!' }]) {
      const res = await get('/admin/queues/api/queues', headers);
      expect(res.status).toBe(401);
    }
  });

  it('gives tenant tokens (admin or viewer) 403: the board shows every tenant', async () => {
    for (const token of [tenant.admin, tenant.viewer]) {
      expect((await get('/admin/queues', bearer(token))).status).toBe(403);
      expect((await get('/admin/queues/api/queues', basic(token))).status).toBe(403);
      expect((await get('/admin/queues/read-only/api/queues', bearer(token))).status).toBe(403);
    }
  });

  it('serves the board to the platform admin token, as Bearer or as the Basic password', async () => {
    const page = await get('/admin/queues', bearer(ADMIN_TOKEN));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('<base href="/admin/queues/"');
    // The UI's own scripts load from the board (behind the same auth), and nothing outside it does.
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await get(`/admin/queues/${script}`, basic(ADMIN_TOKEN));
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await get(`/admin/queues/${script}`)).status).toBe(401);
    expect((await get('/admin/queues/static/%2e%2e/%2e%2e/package.json', bearer(ADMIN_TOKEN))).status).toBe(404);

    const api = await get('/admin/queues/api/queues', basic(ADMIN_TOKEN, 'anyone'));
    expect(api.status).toBe(200);
    const body: any = await api.json();
    const names = body.queues.map((q: { name: string }) => q.name).sort();
    expect(names).toEqual(['credentials', 'gateways', 'maintenance', 'notifications']);
    expect(body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === false)).toBe(true);

    // The job scheduler page is served.
    expect((await get('/admin/queues/job-schedulers', bearer(ADMIN_TOKEN))).status).toBe(200);
    expect((await get('/admin/queues/api/job-schedulers', bearer(ADMIN_TOKEN))).status).toBe(200);
  });

  it('lets the platform admin change queues (the control for the read-only test)', async () => {
    const res = await put('/admin/queues/api/queues/credentials/clean/failed', bearer(ADMIN_TOKEN));
    expect(res.status).toBeLessThan(300);
  });
});

describe('the read-only ops token', () => {
  it('reads the read-only board, where every queue is read-only', async () => {
    const res = await get('/admin/queues/read-only/api/queues', basic(OPS_TOKEN));
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body.queues).toHaveLength(4);
    expect(body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === true)).toBe(true);
    const page = await get('/admin/queues/read-only', bearer(OPS_TOKEN));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/admin/queues/read-only');
  });

  it('is sent from the full board page to the read-only one', async () => {
    const res = await get('/admin/queues/queue/credentials', bearer(OPS_TOKEN));
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/queues/read-only/queue/credentials');
  });

  it('cannot change anything: retry, clean and pause are refused on both boards', async () => {
    const attempts = [
      put('/admin/queues/api/queues/credentials/clean/failed', bearer(OPS_TOKEN)),
      put('/admin/queues/api/queues/credentials/some-job/retry', basic(OPS_TOKEN)),
      put('/admin/queues/read-only/api/queues/credentials/clean/failed', bearer(OPS_TOKEN)),
      put('/admin/queues/read-only/api/queues/credentials/some-job/retry', basic(OPS_TOKEN)),
      put('/admin/queues/read-only/api/queues/pause', bearer(OPS_TOKEN)),
      fetch(`${t.url}/admin/queues/read-only/api/queues/credentials/add`, {
        method: 'POST',
        headers: { ...bearer(OPS_TOKEN), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'validate-credential', data: {} }),
      }),
    ];
    for (const res of await Promise.all(attempts)) expect(res.status).toBe(403);
  });

  it('even the platform admin cannot change queues through the read-only board', async () => {
    const res = await put('/admin/queues/read-only/api/queues/credentials/clean/failed', bearer(ADMIN_TOKEN));
    expect(res.status).toBe(403);
  });
});

describe('without an ops token configured', () => {
  it('a token equal to nothing configured is refused', async () => {
    const other = await startTestApp();
    try {
      const res = await fetch(`${other.url}/admin/queues/read-only/api/queues`, { headers: bearer(OPS_TOKEN) });
      expect(res.status).toBe(401);
    } finally {
      await other.close();
    }
  });
});
