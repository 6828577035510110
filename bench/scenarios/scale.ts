import { Client, Pool } from 'pg';
import { createDataSource } from '../../src/db/data-source';
import { startPrivateRedisCluster } from '../../test/helpers/private-redis-cluster';
import { startPrivatePgPair } from '../../test/helpers/private-pg-replica';
import { ADMIN_TOKEN, RUN_PREFIX } from '../harness/env';
import { gql, providerId, seedCredentials, tenantWithToken } from '../harness/db';
import { drainRun, seedValidationJobs } from '../harness/jobs';
import { benchQueues, clusterSettings, startApi, startScript, startWorker } from '../harness/keyplane';
import { compare, graphqlLoad, httpSide, type HttpLoad, type Side } from '../harness/load';
import type { Child } from '../harness/proc';
import type { Figure } from '../harness/report';
import type { Scenario } from './context';
import { LIST } from './graphql-http';

/*
 * Issue 12, "How it is measured": opt-in (--only=scale-validation,replica-reads, or --full), since
 * each starts engines of its own (a 6-node Redis Cluster; a PostgreSQL primary and replica).
 */

const JOBS = 1500;
const PROVIDER_LATENCY_MS = '20';
const PROCESSES = [1, 2, 3];

/**
 * validate-credential throughput against a provider answering in 20 ms, with 1, 2 and 3 worker
 * processes, on the single Redis and on a private Redis Cluster (3 masters, 3 replicas), run
 * alternately at each process count so both see the same machine load. Outbound isolation limits
 * are raised: they cap calls per destination on purpose, which would hide the queue's scaling.
 */
export const scaleValidation: Scenario = {
  id: 'scale-validation',
  full: true,
  async run(ctx) {
    ctx.log(`scale: validation jobs, ${PROVIDER_LATENCY_MS} ms provider, 1-3 worker processes, single Redis vs Redis Cluster`);
    const cluster = await startPrivateRedisCluster();
    const fake = await startScript<{ ready: boolean; baseUrl: string }>('fake-provider-20ms', 'servers/fake-provider.js', [PROVIDER_LATENCY_MS]);
    const { rows } = await ctx.pool.query('SELECT base_url FROM providers WHERE id = $1', [ctx.openai.id]);
    const children: Child[] = [fake.child];
    const closers: (() => Promise<void>)[] = [];
    try {
      await cluster.waitOk();
      const seeds = cluster.seeds();
      await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, fake.ready.baseUrl]);
      const { tenant: t, jobs } = await seedValidationJobs(ctx, fake.child, { slug: 'scale', tag: 'scale', count: JOBS });
      const env = {
        WORKER_CONCURRENCY: '50',
        OUTBOUND_MAX_PER_TENANT: '1000',
        OUTBOUND_MAX_PER_DESTINATION: '1000',
      };
      const figures: Figure[] = [];
      const rates: Record<'single' | 'cluster', number[]> = { single: [], cluster: [] };
      for (const n of PROCESSES) {
        const sides = {} as Record<'single' | 'cluster', Side>;
        for (const kind of ['single', 'cluster'] as const) {
          const prefix = `${RUN_PREFIX}-${kind[0]}${n}`;
          const extra = kind === 'cluster' ? { ...env, REDIS_CLUSTER_NODES: seeds } : env;
          const workers: Child[] = [];
          for (let i = 0; i < n; i++) {
            const w = await startWorker(`worker-${kind}-${n}-${i}`, prefix, extra);
            workers.push(w);
            children.push(w);
          }
          const q = benchQueues(prefix, 'redis', kind === 'cluster' ? clusterSettings(seeds) : null);
          closers.push(() => q.close());
          let run = 0;
          sides[kind] = { run: () => drainRun({ queue: q.queues.credentials, child: workers[0], jobs, tag: `r${run++}` }) };
        }
        ctx.log(`  ${n} worker process(es)`);
        const r = await compare(sides.cluster, sides.single, { ...ctx.o, log: ctx.log });
        rates.single.push(r.baseline.rate);
        rates.cluster.push(r.subject.rate);
        figures.push({
          id: `scale-validation-${n}p`,
          title: `validate-credential, ${PROVIDER_LATENCY_MS} ms provider, ${n} worker process(es) x concurrency 50: Redis Cluster (3+3)`,
          status: 'measured',
          unit: 'jobs/s',
          subject: r.subject,
          baselineTitle: `single Redis, ${n} process(es)`,
          baseline: r.baseline,
          ratio: r.ratio,
          targets: [{ label: '>= 0.8x', met: r.ratio >= 0.8 }],
        });
        // Only the processes of this count run while it is measured: stop them before the next.
        const mine = children.splice(1);
        await Promise.all(mine.map((c) => c.stop()));
        for (const close of closers.splice(0)) await close();
      }
      for (const kind of ['single', 'cluster'] as const) {
        const [one, two, three] = rates[kind];
        ctx.log(`  scaling on ${kind}: 2 processes ${(two / one).toFixed(2)}x, 3 processes ${(three / one).toFixed(2)}x of one`);
        figures.push({
          id: `scale-validation-scaling-${kind}`,
          title: `Scaling on ${kind === 'single' ? 'the single Redis' : 'the Redis Cluster'}: 3 processes / 1 process (2 / 1: ${(two / one).toFixed(2)}x)`,
          status: 'measured',
          unit: 'x',
          value: three / one,
          targets: [],
        });
      }
      return figures;
    } finally {
      for (const close of closers) await close();
      await Promise.all(children.map((c) => c.stop()));
      await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, rows[0].base_url]);
      await cluster.stop();
    }
  },
};

/**
 * The credentials list (first: 50) and gateway config pulls on a private primary + streaming
 * replica: one API with DATABASE_REPLICA_URLS (list reads on the replica), one without (all on the
 * primary), alternately. Pulls always read the primary (security-relevant): their figure shows
 * what configuring replicas costs them, which should be nothing.
 */
export const replicaReads: Scenario = {
  id: 'replica-reads',
  full: true,
  async run(ctx) {
    ctx.log('replica reads: credentials(first: 50) and gateway pulls, API with a replica vs API on the primary only');
    const pair = await startPrivatePgPair();
    let pool: Pool | null = null;
    const children: Child[] = [];
    try {
      const admin = new Client({ connectionString: pair.primaryUrl });
      await admin.connect();
      await admin.query('CREATE DATABASE keyplane');
      await admin.end();
      const primaryUrl = pair.primaryUrlFor('keyplane');
      const db = createDataSource(primaryUrl, 2);
      await db.initialize();
      await db.runMigrations({ transaction: 'each' });
      await db.destroy();
      pool = new Pool({ connectionString: primaryUrl, max: 2 });
      const prefix = `${RUN_PREFIX}-replica`;
      const base = { DATABASE_URL: primaryUrl, QUEUE_PREFIX: prefix };
      const onPrimary = await startApi('api-primary-only', { env: base });
      const withReplica = await startApi('api-with-replica', {
        env: { ...base, DATABASE_REPLICA_URLS: pair.replicaUrlFor('keyplane'), DATABASE_REPLICA_MAX_LAG_MS: '1000' },
      });
      children.push(onPrimary.child, withReplica.child);
      const openai = await providerId(pool, 'openai');
      const t = await tenantWithToken(onPrimary.url, ADMIN_TOKEN, 'replica');
      const creds = await seedCredentials(pool, { tenantId: t.tenantId, provider: openai, count: 60, tag: 'rep', validated: true });
      const gw = await gql(
        onPrimary.url,
        t.token,
        'mutation($i: CreateGatewayInput!) { createGateway(input: $i) { gatewayKey gateway { id } userErrors { code } } }',
        { i: { tenantId: t.tenantId, name: 'Replica edge', slug: 'replica-edge' } },
      );
      for (const c of creds.slice(0, 3)) {
        await gql(onPrimary.url, t.token, 'mutation($i: AttachCredentialInput!) { attachCredential(input: $i) { userErrors { code } } }', {
          i: { gatewayId: gw.createGateway.gateway.id, credentialId: c.id },
        });
      }
      await pair.caughtUp();
      // Past the write bound: this tenant's reads are the replica's from here.
      await new Promise((r) => setTimeout(r, 1500));

      const figures: Figure[] = [];
      const list = (url: string) => graphqlLoad(`${url}/graphql`, t.token, LIST, { t: t.tenantId }, ctx.o.connections);
      ctx.log('  credentials(first: 50)');
      const l = await compare(httpSide(list(withReplica.url), withReplica.child), httpSide(list(onPrimary.url), onPrimary.child), {
        ...ctx.o,
        log: ctx.log,
      });
      const routed = await replicaReadCount(withReplica.url);
      if (routed < 1) throw new Error('the API with a replica routed no query to it');
      figures.push({
        id: 'replica-list',
        title: `credentials(tenantId, first: 50), reads on the replica (${routed.toLocaleString('en-US')} queries routed there)`,
        status: 'measured',
        unit: 'req/s',
        subject: l.subject,
        baselineTitle: 'the same API, reads on the primary',
        baseline: l.baseline,
        ratio: l.ratio,
        targets: [],
      });
      const key = { authorization: `Bearer ${gw.createGateway.gatewayKey}` };
      const first = await fetch(`${onPrimary.url}/v1/gateway/config`, { headers: key });
      await first.arrayBuffer();
      const etag = first.headers.get('etag')!;
      const pull = (url: string, headers: Record<string, string>, status: number): HttpLoad => ({
        url: `${url}/v1/gateway/config`,
        headers,
        ok: (s) => s === status,
        connections: ctx.o.connections,
      });
      for (const [id, headers, status] of [
        ['replica-pull-200', key, 200],
        ['replica-pull-304', { ...key, 'if-none-match': etag }, 304],
      ] as const) {
        ctx.log(`  gateway pull ${status}`);
        const r = await compare(
          httpSide(pull(withReplica.url, headers, status), withReplica.child),
          httpSide(pull(onPrimary.url, headers, status), onPrimary.child),
          { ...ctx.o, log: ctx.log },
        );
        figures.push({
          id,
          title: `Gateway config pull, ${status} path, API with a replica configured (pulls stay on the primary)`,
          status: 'measured',
          unit: 'req/s',
          subject: r.subject,
          baselineTitle: 'API without replicas',
          baseline: r.baseline,
          ratio: r.ratio,
          targets: [{ label: '>= 0.9x', met: r.ratio >= 0.9 }],
        });
      }
      return figures;
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      await pool?.end();
      await pair.close();
    }
  },
};

/** keyplane_db_read_route_total{target="replica"} from the API's /metrics. */
async function replicaReadCount(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.text();
  const m = /keyplane_db_read_route_total\{target="replica"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}
