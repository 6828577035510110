import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from '../src/config';
import { DeliveryJobs, inOutbox, isLiveJob, type OpenDelivery } from '../src/modules/webhook/delivery-jobs';
import type { WebhookKind } from '../src/modules/webhook/webhook.entity';
import { enqueue, type Queues } from '../src/queue/queues';
import { JOBS } from '../src/queue/registry';
import { missingSchedulers, upsertScheduler } from './schedulers';

export type ReconcileDeps = {
  db: Pick<DataSource, 'query' | 'createQueryRunner'>;
  queues: Queues;
  log: Pick<Logger, 'info' | 'warn'>;
  config: Pick<Config, 'sweepCron' | 'reconcileIntervalMs' | 'providerTimeoutMs'> & { webhook: Pick<Config['webhook'], 'timeoutMs'> };
};

export interface ReconcileReport {
  /** Another worker holds the reconciler's lock: nothing done. */
  skipped?: 'RUNNING';
  schedulers: string[];
  validations: number;
  deliveries: number;
  catchUp: string[];
}

/** One reconciler at a time across all workers (a session advisory lock on this key). */
const LOCK_KEY = 'keyplane:reconcile-queues';
/** Rows looked at per run; the rest wait for the next run, minutes later. */
export const RECONCILE_PAGE = 1_000;

interface VersionRow {
  tenant_id: string;
  credential_id: string;
  version: number;
}
interface DeliveryRow {
  id: string;
  tenant_id: string;
  kind: WebhookKind;
  target_id: string;
  replay_count: number;
  attempts: number;
}

/**
 * PostgreSQL is the source of truth for in-flight work; the queue store (Redis, or BullMQ's schema)
 * only carries it. This re-creates from PostgreSQL what the store should hold but does not:
 * job schedulers, the check of a key version still pending with none recorded, the job of a
 * webhook delivery neither settled nor held, and (if the rotation scheduler itself was lost) one
 * rotation sweep, whose reminders are recorded at most once by their unique index.
 *
 * Nothing with an outside effect runs twice: a job is re-created under its own deterministic id
 * (so a relay or a second reconciler adds nothing more), only when none by that id exists at all,
 * and only after `settleMs` in which a try already in flight when its job vanished (a provider
 * request, a webhook POST: both bounded by their timeouts) has ended and recorded what it did.
 * Each candidate is read again after that wait; a delivery already DELIVERED is never sent again.
 */
export async function reconcile(deps: ReconcileDeps, opts: { settleMs?: number } = {}): Promise<ReconcileReport> {
  const settleMs = opts.settleMs ?? Math.max(deps.config.providerTimeoutMs, deps.config.webhook.timeoutMs) + 2_000;
  const runner = deps.db.createQueryRunner();
  await runner.connect();
  try {
    const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [LOCK_KEY]);
    if (!locked) return { skipped: 'RUNNING', schedulers: [], validations: 0, deliveries: 0, catchUp: [] };
    try {
      return await reconcileLocked(deps, settleMs);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

async function reconcileLocked(deps: ReconcileDeps, settleMs: number): Promise<ReconcileReport> {
  const missing = await missingSchedulers(deps.queues, deps.config);
  for (const spec of missing) await upsertScheduler(deps.queues, spec);
  const catchUp: string[] = [];
  // Today's reminders may have been due on the lost run: the sweep records each one once (unique index).
  if (missing.some((s) => s.job === 'rotation-sweep')) {
    await enqueue(deps.queues, 'rotation-sweep', {});
    catchUp.push('rotation-sweep');
  }
  const jobs = new DeliveryJobs(() => deps.queues);
  const versions = await jobless(await pendingVersions(deps.db), (v) => isLiveJob(deps.queues.credentials, validationJobId(v)));
  const deliveries = await joblessDeliveries(deps, jobs, await openDeliveries(deps.db));
  if (versions.length + deliveries.length > 0) await new Promise((r) => setTimeout(r, settleMs));

  // Read again: whatever recorded something meanwhile (an in-flight try) is left to its own course.
  const stillPending = new Set(
    (
      await pendingVersions(
        deps.db,
        versions.map((v) => v.credential_id),
      )
    ).map(validationJobId),
  );
  let validations = 0;
  for (const v of await jobless(versions, (x) => isLiveJob(deps.queues.credentials, validationJobId(x)))) {
    if (!stillPending.has(validationJobId(v))) continue;
    await enqueue(deps.queues, 'validate-credential', { tenantId: v.tenant_id, credentialId: v.credential_id, version: v.version });
    validations++;
  }
  const before = new Map(deliveries.map((d) => [d.id, d]));
  const now = (await openDeliveries(deps.db, [...before.keys()])).filter((d) => {
    const was = before.get(d.id);
    return was && was.attempts === d.attempts && was.replay_count === d.replay_count;
  });
  let recreated = 0;
  for (const d of await joblessDeliveries(deps, jobs, now)) {
    await enqueue(deps.queues, 'deliver-webhook', { tenantId: d.tenant_id, deliveryId: d.id, replay: d.replay_count });
    recreated++;
  }
  const report = { schedulers: missing.map((s) => s.id), validations, deliveries: recreated, catchUp };
  if (missing.length || validations || recreated) deps.log.warn(report, 'reconciler re-created work the queue store had lost');
  return report;
}

const validationJobId = (v: VersionRow) =>
  JOBS['validate-credential'].jobId({ tenantId: v.tenant_id, credentialId: v.credential_id, version: v.version });

async function jobless<T>(rows: T[], live: (row: T) => Promise<boolean>): Promise<T[]> {
  const out: T[] = [];
  for (const row of rows) if (!(await live(row))) out.push(row);
  return out;
}

async function joblessDeliveries(deps: ReconcileDeps, jobs: DeliveryJobs, rows: DeliveryRow[]): Promise<DeliveryRow[]> {
  if (rows.length === 0) return [];
  const gateways = await jobs.liveGateways();
  const open = (d: DeliveryRow): OpenDelivery => ({ id: d.id, kind: d.kind, targetId: d.target_id, replayCount: d.replay_count });
  return jobless(rows, async (d) => (await inOutbox(deps.db, open(d))) || jobs.hasLiveJob(open(d), gateways));
}

/**
 * Key versions waiting for their first check: PENDING, key material held, no check recorded, the
 * credential live and its provider's host confirmed (an unconfirmed host's keys go nowhere until
 * the tenant confirms it, which queues their checks). A version whose check ran and was
 * inconclusive is the daily revalidation sweep's, not this.
 */
async function pendingVersions(db: ReconcileDeps['db'], credentialIds?: string[]): Promise<VersionRow[]> {
  return db.query(
    `SELECT v.tenant_id, v.credential_id, v.version
       FROM credential_versions v
       JOIN credentials c ON c.tenant_id = v.tenant_id AND c.id = v.credential_id
      WHERE v.state = 'PENDING' AND v.last_validated_at IS NULL AND v.ciphertext IS NOT NULL
        AND c.revoked_at IS NULL
        AND ($1::uuid[] IS NULL OR v.credential_id = ANY($1::uuid[]))
        AND EXISTS (SELECT 1 FROM provider_host_confirmations hc JOIN providers pr ON pr.id = hc.provider_id
                     WHERE hc.tenant_id = c.tenant_id AND hc.provider_id = c.provider_id AND hc.base_url = pr.base_url)
      ORDER BY v.created_at
      LIMIT $2`,
    [credentialIds ?? null, RECONCILE_PAGE],
  );
}

/** Deliveries still to be sent or retried (HELD ones wait for their endpoint's re-enabling). */
async function openDeliveries(db: ReconcileDeps['db'], ids?: string[]): Promise<DeliveryRow[]> {
  return db.query(
    `SELECT id, tenant_id, kind, target_id, replay_count, attempts
       FROM webhook_deliveries
      WHERE status IN ('PENDING', 'RETRYING') AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
      ORDER BY updated_at
      LIMIT $2`,
    [ids ?? null, RECONCILE_PAGE],
  );
}
