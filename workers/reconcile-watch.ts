import type { Logger } from 'pino';
import type { Config } from '../src/config';
import { enqueue, type Queues } from '../src/queue/queues';
import { missingSchedulers } from './schedulers';

/** How often a worker looks for its schedulers, at most (RECONCILE_INTERVAL_SECONDS if shorter). */
const WATCH_MS = 30_000;

/**
 * The reconciler runs from a scheduler, and a queue store that lost its data (Redis flushed,
 * restored, failed over without persistence) lost that scheduler too. So every worker queues one
 * reconciler run at start, and checks every WATCH_MS that the schedulers are there: when they are
 * not, it queues a run at once, which upserts them and re-creates the lost jobs. One check is a few
 * reads; several workers queueing a run each is harmless (one runs at a time, and repeats add nothing).
 */
export function startReconcileWatch(
  queues: Queues,
  config: Pick<Config, 'sweepCron' | 'reconcileIntervalMs'>,
  log: Pick<Logger, 'warn'>,
): { stop(): void } {
  let lastWarn = 0;
  const run = (reason: string) =>
    enqueue(queues, 'reconcile-queues', { requestedAt: new Date().toISOString() }).catch((error: Error) => {
      if (Date.now() - lastWarn < 60_000) return;
      lastWarn = Date.now();
      log.warn({ reason, err: { name: error.name, message: error.message } }, 'could not queue a reconciler run; retrying');
    });
  void run('start');
  const timer = setInterval(
    async () => {
      try {
        const missing = await missingSchedulers(queues, config);
        if (missing.length === 0) return;
        log.warn({ schedulers: missing.map((s) => s.id) }, 'job schedulers missing from the queue store: reconciling now');
        await run('schedulers-missing');
      } catch {
        // The store is unreachable: the relay and the workers say so; checked again next tick.
      }
    },
    Math.min(WATCH_MS, config.reconcileIntervalMs),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
