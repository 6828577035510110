import { performance } from 'node:perf_hooks';
import { Job } from 'bullmq';
import { PROCESSORS } from '../../workers/processors';
import { RUN_PREFIX } from '../harness/env';
import { benchQueues, startWorker } from '../harness/keyplane';
import { rssPeak, sleep } from '../harness/proc';
import type { Figure } from '../harness/report';
import { median } from '../harness/stats';
import { notMeasurable, type Ctx, type Scenario } from './context';
import { ensureMillion, MILLION, settleOutbox } from './million';

const LIMIT_S = 20;
const RSS_LIMIT_MB = 256;
const COUNT_SQL = 'SELECT count(*) FROM credentials WHERE revoked_at IS NULL';
const rows = MILLION.toLocaleString('en-US');

async function countSeconds(ctx: Ctx): Promise<number> {
  const started = performance.now();
  await ctx.pool.query(COUNT_SQL);
  return (performance.now() - started) / 1000;
}

/**
 * The daily rotation-reminder sweep over a million credentials, through the real worker: from
 * adding the job to the job completing and the outbox it wrote being relayed. The first sweep
 * records every reminder due (catch-up); later ones find them recorded and write nothing.
 */
export const rotationSweep: Scenario = {
  id: 'rotation-sweep',
  full: true,
  async run(ctx) {
    const targets = [`<= ${LIMIT_S} s`, `worker RSS <= ${RSS_LIMIT_MB} MB`];
    if (!PROCESSORS['rotation-sweep']) {
      return [
        notMeasurable(
          'rotation-sweep',
          `Rotation-reminder sweep, ${rows} credentials`,
          'not measurable yet: rotation-sweep processor missing',
          targets,
        ),
      ];
    }
    await ensureMillion(ctx);
    ctx.log(`rotation-reminder sweep over ${rows} credentials`);
    await settleOutbox(ctx);
    const prefix = `${RUN_PREFIX}-sweep`;
    const worker = await startWorker('worker-sweep', prefix);
    const q = benchQueues(prefix);
    const sweep = async (run: number) => {
      const before = await ctx.pool.query('SELECT count(*)::int AS n FROM rotation_reminders');
      const peak = rssPeak(worker.pid);
      const started = performance.now();
      const job = await q.queues.maintenance.add('rotation-sweep', {}, { jobId: `rotation-sweep-bench-r${run}` });
      for (;;) {
        worker.assertAlive();
        const state = await Job.fromId(q.queues.maintenance, job.id!).then((j) => j?.getState());
        if (state === 'completed') break;
        if (state === 'failed') throw new Error('the rotation sweep job failed');
        if (performance.now() - started > 300_000) throw new Error('the rotation sweep did not finish in 5 minutes');
        await sleep(50);
      }
      // Deliveries it queued count too: wait until the relay has taken every outbox row.
      while ((await ctx.pool.query('SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT 1')).rows.length) await sleep(50);
      const seconds = (performance.now() - started) / 1000;
      const rss = peak.stop();
      const after = await ctx.pool.query('SELECT count(*)::int AS n FROM rotation_reminders');
      ctx.log(
        `  sweep ${run + 1}: ${seconds.toFixed(1)} s, ${after.rows[0].n - before.rows[0].n} reminders recorded, worker peak RSS ${rss?.toFixed(0)} MB`,
      );
      return { seconds, rss, recorded: after.rows[0].n - before.rows[0].n };
    };
    try {
      const counts: number[] = [];
      for (let i = 0; i < ctx.o.runs; i++) counts.push(await countSeconds(ctx));
      const baseline = median(counts);
      const first = await sweep(0);
      const repeats = [];
      for (let i = 1; i < Math.max(2, ctx.o.runs); i++) repeats.push(await sweep(i));
      const figure = (id: string, title: string, seconds: number, rss: number | null): Figure => ({
        id,
        title,
        status: 'measured',
        unit: 's',
        value: seconds,
        baselineTitle: `${COUNT_SQL} (same rows)`,
        baselineValue: baseline,
        ratio: baseline / seconds,
        subject: { runs: [], rate: NaN, rateMin: NaN, rateMax: NaN, p50: NaN, p99: NaN, peakRssMb: rss, failed: 0 },
        targets: [
          { label: targets[0], met: seconds <= LIMIT_S },
          { label: targets[1], met: rss !== null && rss <= RSS_LIMIT_MB },
        ],
      });
      const repeatS = median(repeats.map((r) => r.seconds));
      const repeatRss = Math.max(...repeats.map((r) => r.rss ?? 0));
      return [
        figure(
          'rotation-sweep-first',
          `Rotation-reminder sweep, ${rows} credentials, first run (${first.recorded.toLocaleString('en-US')} reminders written)`,
          first.seconds,
          first.rss,
        ),
        figure('rotation-sweep-repeat', `Rotation-reminder sweep, ${rows} credentials, repeat (nothing new)`, repeatS, repeatRss || null),
      ];
    } finally {
      await q.close();
      await worker.stop();
    }
  },
};
