import { REDIS_URL, RUN_PREFIX } from '../harness/env';
import { drainRun, seedValidationJobs } from '../harness/jobs';
import { benchQueues, startScript, startWorker } from '../harness/keyplane';
import { compare, type Side } from '../harness/load';
import type { Child } from '../harness/proc';
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
      const { tenant: t, jobs } = await seedValidationJobs(ctx, fake.child, { slug: 'validate', tag: 'val', count: JOBS });
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
