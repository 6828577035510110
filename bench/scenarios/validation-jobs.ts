import { REDIS_URL, RUN_PREFIX } from '../harness/env';
import { seedCredentials, tenantWithToken } from '../harness/db';
import { drainRun, type JobSpec } from '../harness/jobs';
import { benchQueues, startScript, startWorker } from '../harness/keyplane';
import { compare, type Side } from '../harness/load';
import { firstMessage, type Child } from '../harness/proc';
import type { Scenario } from './context';

const JOBS = 3000;
const CONCURRENCY = '50';

/**
 * validate-credential jobs through the real worker process (decrypt, check against the fake
 * provider answering at once, record the outcome) against BullMQ no-op jobs, both at concurrency 50.
 */
export const validationJobs: Scenario = {
  id: 'validation',
  async run(ctx) {
    ctx.log('validation jobs per second, worker concurrency 50');
    const fake = await startScript<{ ready: boolean; baseUrl: string }>('fake-provider', 'servers/fake-provider.js', []);
    const { rows } = await ctx.pool.query('SELECT base_url FROM providers WHERE id = $1', [ctx.openai.id]);
    const children: Child[] = [fake.child];
    const closers: (() => Promise<void>)[] = [];
    try {
      await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, fake.ready.baseUrl]);
      const t = await tenantWithToken(ctx.api.url, ctx.adminToken, 'validate');
      const creds = await seedCredentials(ctx.pool, { tenantId: t.tenantId, provider: ctx.openai, count: JOBS, tag: 'val', validated: false });
      const allowed = firstMessage<{ allowed: number }>(fake.child);
      fake.child.proc.send({ allow: creds.map((c) => c.key) });
      await allowed;
      // Earlier scenarios left outbox rows; they belong to no worker here.
      await ctx.pool.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');

      const jobs: JobSpec[] = creds.map((c) => ({
        name: 'validate-credential',
        data: { tenantId: t.tenantId, credentialId: c.id, version: 1 },
        id: `validate-credential-${c.id}-v1`,
      }));
      const side = (prefix: string, child: Child): Side => {
        const q = benchQueues(prefix);
        closers.push(() => q.close());
        let run = 0;
        return { run: () => drainRun({ queue: q.queues.credentials, child, jobs, tag: `r${run++}` }) };
      };
      const workerPrefix = `${RUN_PREFIX}-val`;
      const worker = await startWorker('worker-validate', workerPrefix, { WORKER_CONCURRENCY: CONCURRENCY });
      children.push(worker);
      const noopPrefix = `${RUN_PREFIX}-noop`;
      const noop = await startScript('noop-worker', 'baselines/noop-worker.js', [REDIS_URL, noopPrefix, 'credentials', CONCURRENCY]);
      children.push(noop.child);

      const result = await compare(side(workerPrefix, worker), side(noopPrefix, noop.child), { ...ctx.o, log: ctx.log });
      // The jobs must have done their work: every key checked and active, not failed fast.
      const active = await ctx.pool.query(
        "SELECT count(*)::int AS n FROM credentials WHERE tenant_id = $1 AND status = 'ACTIVE' AND last_validation_outcome = 'VALID'",
        [t.tenantId],
      );
      if (active.rows[0].n !== JOBS) throw new Error(`only ${active.rows[0].n} of ${JOBS} credentials were validated as ACTIVE`);
      return [
        {
          id: 'validation',
          title: `validate-credential jobs, fake provider, concurrency ${CONCURRENCY} (${JOBS} jobs/run)`,
          status: 'measured',
          unit: 'jobs/s',
          subject: result.subject,
          baselineTitle: 'BullMQ no-op jobs',
          baseline: result.baseline,
          ratio: result.ratio,
          targets: [{ label: '>= 0.5x', met: result.ratio >= 0.5 }],
        },
      ];
    } finally {
      for (const close of closers) await close();
      await Promise.all(children.map((c) => c.stop()));
      await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, rows[0].base_url]);
    }
  },
};
