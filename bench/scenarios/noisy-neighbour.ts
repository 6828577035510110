import { createSocket } from 'node:dgram';
import { createServer, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { benchKey, gql, tenantWithToken } from '../harness/db';
import { RUN_PREFIX } from '../harness/env';
import { benchQueues, startScript, startWorker } from '../harness/keyplane';
import { firstMessage, sleep, type Child } from '../harness/proc';
import { median } from '../harness/stats';
import type { Figure } from '../harness/report';
import type { Scenario } from './context';

const SAMPLES = 5;
const HOSTILE_GATEWAYS = 20;
const HOSTILE_KEYS = 10;
const CALL_TIMEOUT_MS = '5000';
const CONCURRENCY = '10';
const UPDATE = 'mutation($i: UpdateGatewayInput!) { updateGateway(input: $i) { userErrors { code } } }';
const CREATE_KEY = 'mutation($i: CreateCredentialInput!) { createCredential(input: $i) { credential { id } userErrors { code } } }';
const UPSERT_PROVIDER = 'mutation($i: UpsertProviderInput!) { upsertProvider(input: $i) { provider { id } userErrors { code } } }';
const CREATE_GATEWAY = 'mutation($i: CreateGatewayInput!) { createGateway(input: $i) { gateway { id } userErrors { code } } }';

/** A receiver: `hang` never answers (its sockets are destroyed on close); otherwise 200, noting when each path was hit. */
async function receiver(hang: boolean): Promise<{ url: string; hits: Map<string, number>; close(): Promise<void> }> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: HttpServer = createServer((req, res) => {
    if (hang) return;
    req.resume().on('end', () => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      res.end('ok');
    });
  });
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`noisy-neighbour: ${what} not reached in time`);
    await sleep(10);
  }
}

/**
 * Isolation between tenants (README "Isolation between tenants"): a healthy tenant's key check and
 * reload notification, median of 5 each, through the real worker process (concurrency 10), alone
 * and then while a hostile tenant has 20 gateways whose receivers hang (half on a loopback server
 * that never answers, half on names whose DNS server never answers) and 10 keys at a provider host
 * that never answers. The ratio is loaded over unloaded, in the same run.
 */
export const noisyNeighbour: Scenario = {
  id: 'noisy-neighbour',
  async run(ctx) {
    ctx.log('noisy neighbour: a healthy tenant with and without a hostile one');
    const fake = await startScript<{ ready: boolean; baseUrl: string }>('fake-provider', 'servers/fake-provider.js', []);
    const sink = await receiver(false);
    const hang = await receiver(true);
    const dns = createSocket('udp4');
    await new Promise<void>((r) => dns.bind(0, '127.0.0.1', r));
    const children: Child[] = [fake.child];
    const prefix = `${RUN_PREFIX}-nn`;
    try {
      // Custom providers (platform admin), so the API takes their hosts as they are now.
      const provider = async (slug: string, baseUrl: string): Promise<string> =>
        (
          await gql(ctx.api.url, ctx.adminToken, UPSERT_PROVIDER, {
            i: {
              slug: `${slug}-${RUN_PREFIX.slice(-8)}`,
              name: slug,
              baseUrl,
              authScheme: 'BEARER',
              apiShape: 'OPENAI',
              keyPrefixes: ['sk-proj-'],
              keyPattern: '^sk-',
            },
          })
        ).upsertProvider.provider.id;
      const healthyProvider = await provider('nn-fake', fake.ready.baseUrl);
      const keys = Array.from({ length: 2 * SAMPLES + 1 }, (_, i) => benchKey('nn', i));
      const allowed = firstMessage<{ allowed: number }>(fake.child);
      fake.child.proc.send({ allow: keys });
      await allowed;
      await ctx.pool.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
      const worker = await startWorker('worker-noisy', prefix, {
        WORKER_CONCURRENCY: CONCURRENCY,
        WEBHOOK_TIMEOUT_MS: CALL_TIMEOUT_MS,
        PROVIDER_TIMEOUT_MS: CALL_TIMEOUT_MS,
        OUTBOUND_ALLOW_DESTINATIONS: 'http://127.0.0.1:*,http://*.hostile.test:*',
        OUTBOUND_DNS_SERVERS: `127.0.0.1:${dns.address().port}`,
        OUTBOUND_DNS_TIMEOUT_MS: '6000',
      });
      children.push(worker);

      const g = await tenantWithToken(ctx.api.url, ctx.adminToken, 'healthy');
      const gw = await gql(ctx.api.url, g.token, CREATE_GATEWAY, { i: { tenantId: g.tenantId, name: 'G', slug: 'g', webhookUrl: `${sink.url}/g` } });
      const gatewayId: string = gw.createGateway.gateway.id;
      let k = 0;
      let mode = 'USER_PROVIDED'; // the first sample switches to HYBRID (not the default), so every sample is a change
      const sample = async () => {
        let started = performance.now();
        const c = await gql(ctx.api.url, g.token, CREATE_KEY, {
          i: { tenantId: g.tenantId, providerId: healthyProvider, label: `k${k}`, secret: keys[k++] },
        });
        const id: string = c.createCredential.credential.id;
        await until(
          'key ACTIVE',
          async () => (await ctx.pool.query('SELECT status FROM credentials WHERE id = $1', [id])).rows[0]?.status === 'ACTIVE',
        );
        const check = performance.now() - started;
        const before = sink.hits.get('/g') ?? 0;
        mode = mode === 'HYBRID' ? 'USER_PROVIDED' : 'HYBRID';
        started = performance.now();
        await gql(ctx.api.url, g.token, UPDATE, { i: { id: gatewayId, credentialMode: mode } });
        await until('reload received', () => (sink.hits.get('/g') ?? 0) > before);
        return { check, reload: performance.now() - started };
      };
      const measure = async () => {
        const s = [];
        for (let i = 0; i < SAMPLES; i++) s.push(await sample());
        return { check: median(s.map((x) => x.check)), reload: median(s.map((x) => x.reload)) };
      };
      await sample(); // warm-up
      const alone = await measure();

      const h = await tenantWithToken(ctx.api.url, ctx.adminToken, 'hostile');
      const hostileProvider = await provider('nn-hang', hang.url);
      for (let i = 0; i < HOSTILE_GATEWAYS; i++) {
        const r = await gql(ctx.api.url, h.token, CREATE_GATEWAY, {
          i: { tenantId: h.tenantId, name: `H${i}`, slug: `h${i}`, webhookUrl: `${hang.url}/h${i}` },
        });
        const id: string = r.createGateway.gateway.id;
        // Half on names that never resolve: set in the row, as the API's policy (loopback only here) would refuse them.
        if (i % 2) await ctx.pool.query('UPDATE gateways SET webhook_url = $2 WHERE id = $1', [id, `http://h${i}.hostile.test:8080/hook`]);
        await gql(ctx.api.url, h.token, UPDATE, { i: { id, credentialMode: 'HYBRID' } });
      }
      for (let i = 0; i < HOSTILE_KEYS; i++) {
        await gql(ctx.api.url, h.token, CREATE_KEY, {
          i: { tenantId: h.tenantId, providerId: hostileProvider, label: `h${i}`, secret: benchKey('nnh', i) },
        });
      }
      await sleep(1_500); // the hostile calls are out and hanging
      const loaded = await measure();

      const figure = (what: 'check' | 'reload', title: string): Figure => {
        const ratio = loaded[what] / alone[what];
        return {
          id: `noisy-neighbour-${what}`,
          title: `${title}, with a hostile tenant / alone (median of ${SAMPLES})`,
          status: 'measured',
          unit: 'ms',
          value: loaded[what],
          baselineTitle: 'the same, alone',
          baselineValue: alone[what],
          ratio,
          targets: [{ label: '<= 2x', met: loaded[what] <= Math.max(2 * alone[what], alone[what] + 1_000) }],
        };
      };
      return [
        figure('check', 'healthy tenant key check (create to ACTIVE)'),
        figure('reload', 'healthy tenant reload notification (change to received)'),
      ];
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      const q = benchQueues(prefix);
      await q.close();
      await Promise.all([sink.close(), hang.close()]);
      dns.close();
    }
  },
};
