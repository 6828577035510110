import { RUN_PREFIX } from '../harness/env';
import { benchKey } from '../harness/db';
import { drainRun, seedValidationJobs } from '../harness/jobs';
import { benchQueues, startApi, startScript, startWorker } from '../harness/keyplane';
import { compare, graphqlLoad, httpSide, type Side } from '../harness/load';
import type { Child } from '../harness/proc';
import { queueSchemaOf } from '../../src/config-values';
import { migrateQueueSchema } from '../../src/db/migrate';
import { BENCH_DATABASE_URL } from '../harness/env';
import type { QueueBackendKind } from '../../src/config';
import type { Figure } from '../harness/report';
import type { Scenario } from './context';

const JOBS = 3000;
const CONCURRENCY = '50';
const CREATE = `mutation($input: CreateCredentialInput!) {
  createCredential(input: $input) { credential { id status redactedKey } userErrors { code } }
}`;

/**
 * Issue 11: the same work on QUEUE_BACKEND=postgres (BullMQ's PostgreSQL backend) as a ratio to
 * QUEUE_BACKEND=redis, in one run: validate-credential jobs through the real worker process, and
 * createCredential through an API process of each backend (its key-check limiter runs on the
 * backend's engine; the job itself goes through the outbox either way).
 */
export const queueBackends: Scenario = {
  id: 'queue-backends',
  async run(ctx) {
    ctx.log('queue backends: PostgreSQL as a ratio to Redis');
    const fake = await startScript<{ ready: boolean; baseUrl: string }>('fake-provider', 'servers/fake-provider.js', []);
    const { rows } = await ctx.pool.query('SELECT base_url FROM providers WHERE id = $1', [ctx.openai.id]);
    const children: Child[] = [fake.child];
    const closers: (() => Promise<void>)[] = [];
    const figures: Figure[] = [];
    try {
      await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, fake.ready.baseUrl]);
      const { tenant: t, jobs } = await seedValidationJobs(ctx, fake.child, { slug: 'backends', tag: 'qb', count: JOBS });
      // Each run starts its worker and stops it after: two workers at concurrency 50 alive at once
      // (each with DATABASE_POOL_SIZE 54, and BullMQ's own pools on PostgreSQL) would not fit in
      // PostgreSQL's default 100 connections next to the API. Start-up is outside the timed part.
      const workerSide = async (backend: QueueBackendKind): Promise<Side> => {
        const prefix = `${RUN_PREFIX}-qb-${backend}`;
        // The queue checks its schema when it is made: migrate first, as a deployment does.
        if (backend === 'postgres') await migrateQueueSchema(BENCH_DATABASE_URL, queueSchemaOf(prefix));
        const q = benchQueues(prefix, backend);
        closers.push(() => q.close());
        let run = 0;
        return {
          async run() {
            const worker = await startWorker(`worker-${backend}`, prefix, { WORKER_CONCURRENCY: CONCURRENCY, QUEUE_BACKEND: backend });
            try {
              return await drainRun({ queue: q.queues.credentials, child: worker, jobs, tag: `${backend}${run++}` });
            } finally {
              await worker.stop();
            }
          },
        };
      };
      const jobsResult = await compare(await workerSide('postgres'), await workerSide('redis'), { ...ctx.o, log: ctx.log });
      figures.push({
        id: 'validation-pg',
        title: `validate-credential jobs on the PostgreSQL queue backend, concurrency ${CONCURRENCY} (${JOBS} jobs/run)`,
        status: 'measured',
        unit: 'jobs/s',
        subject: jobsResult.subject,
        baselineTitle: 'the same jobs on the Redis backend',
        baseline: jobsResult.baseline,
        ratio: jobsResult.ratio,
        targets: [],
      });

      // createCredential through an API process on the postgres backend against the bench's API (redis).
      const pgPrefix = `${RUN_PREFIX}-qb-api`;
      await migrateQueueSchema(BENCH_DATABASE_URL, queueSchemaOf(pgPrefix));
      const pgApi = await startApi('api-pg', { env: { QUEUE_BACKEND: 'postgres', QUEUE_PREFIX: pgPrefix } });
      children.push(pgApi.child);
      let n = 0;
      const input = () => ({ input: { tenantId: t.tenantId, providerId: ctx.openai.id, label: `qb-${n}`, secret: benchKey('qb', n++) } });
      const ok = (b: string) => b.includes('"userErrors":[]');
      const createResult = await compare(
        httpSide(graphqlLoad(`${pgApi.url}/graphql`, t.token, CREATE, input, ctx.o.connections, ok), pgApi.child),
        httpSide(graphqlLoad(`${ctx.api.url}/graphql`, t.token, CREATE, input, ctx.o.connections, ok), ctx.api.child),
        { ...ctx.o, log: ctx.log },
      );
      figures.push({
        id: 'create-pg',
        title: `createCredential over HTTP GraphQL on the PostgreSQL queue backend, ${ctx.o.connections} connections`,
        status: 'measured',
        unit: 'req/s',
        subject: createResult.subject,
        baselineTitle: 'the same on the Redis backend',
        baseline: createResult.baseline,
        ratio: createResult.ratio,
        targets: [],
      });
      return figures;
    } finally {
      for (const close of closers) await close();
      await Promise.all(children.map((c) => c.stop()));
      await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, rows[0].base_url]);
    }
  },
};
