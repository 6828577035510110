import type { Queue } from 'bullmq';
import { DEFAULT_JOB_OPTIONS } from '../../src/queue/queues';
import type { Ctx } from '../scenarios/context';
import { seedCredentials, tenantWithToken } from './db';
import { firstMessage, rssPeak, sleep, type Child } from './proc';
import { percentile, type RunResult } from './stats';

export interface JobSpec {
  name: string;
  data: Record<string, unknown>;
  /** Job id without the run tag (the tag keeps ids unique across runs, so BullMQ never drops one as a duplicate). */
  id: string;
}

const PENDING = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/**
 * Adds all jobs at once and times until the queue has nothing left to do. Counting events is not
 * reliable at this volume (BullMQ trims its event stream), and the completed set is trimmed by
 * removeOnComplete, so completion is "nothing pending", and failures are the growth of the failed set.
 * Job latency is processing time (finishedOn - processedOn), read back from the completed jobs.
 */
export async function drainRun(o: { queue: Queue; child: Child; jobs: JobSpec[]; tag: string; timeoutMs?: number }): Promise<RunResult> {
  const suffix = `-${o.tag}`;
  const failedBefore = (await o.queue.getJobCounts('failed')).failed ?? 0;
  const peak = rssPeak(o.child.pid);
  const started = Date.now();
  const until = started + (o.timeoutMs ?? 180_000);
  await o.queue.addBulk(o.jobs.map((j) => ({ name: j.name, data: j.data, opts: { ...DEFAULT_JOB_OPTIONS, jobId: `${j.id}${suffix}` } })));
  for (;;) {
    o.child.assertAlive();
    const counts = await o.queue.getJobCounts(...PENDING);
    const pending = Object.values(counts).reduce((a, b) => a + b, 0);
    if (pending === 0) break;
    if (Date.now() > until) throw new Error(`${o.jobs.length} jobs did not finish in time (${pending} still pending)`);
    await sleep(10);
  }
  const polledEnd = Date.now();
  const peakRssMb = peak.stop();
  o.child.assertAlive();
  const failed = ((await o.queue.getJobCounts('failed')).failed ?? 0) - failedBefore;
  const done = (await o.queue.getJobs(['completed'], 0, o.jobs.length * 2)).filter((j) => j.id?.endsWith(suffix) && j.finishedOn && j.processedOn);
  const lastFinish = Math.max(...done.map((j) => j.finishedOn!));
  // finishedOn comes from the worker's clock on this same machine: more precise than the polling step.
  const seconds = ((Number.isFinite(lastFinish) && lastFinish >= started ? lastFinish : polledEnd) - started) / 1000;
  const times = done.map((j) => j.finishedOn! - j.processedOn!);
  const completed = o.jobs.length - failed;
  return { rate: completed / seconds, p50: percentile(times, 50), p99: percentile(times, 99), ok: completed, failed, peakRssMb };
}

/**
 * One tenant's `count` unvalidated keys, allowed by the fake provider, and their validate-credential
 * jobs (the ids the outbox would give them). Earlier scenarios' unsent outbox rows are marked sent:
 * they belong to no worker of the caller's.
 */
export async function seedValidationJobs(
  ctx: Pick<Ctx, 'api' | 'adminToken' | 'pool' | 'openai'>,
  fake: Child,
  o: { slug: string; tag: string; count: number },
): Promise<{ tenant: Awaited<ReturnType<typeof tenantWithToken>>; jobs: JobSpec[] }> {
  const t = await tenantWithToken(ctx.api.url, ctx.adminToken, o.slug);
  const creds = await seedCredentials(ctx.pool, { tenantId: t.tenantId, provider: ctx.openai, count: o.count, tag: o.tag, validated: false });
  const allowed = firstMessage<{ allowed: number }>(fake);
  fake.proc.send({ allow: creds.map((c) => c.key) });
  await allowed;
  await ctx.pool.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
  const jobs = creds.map((c) => ({
    name: 'validate-credential',
    data: { tenantId: t.tenantId, credentialId: c.id, version: 1 },
    id: `validate-credential-${c.id}-v1`,
  }));
  return { tenant: t, jobs };
}
