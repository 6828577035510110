import type { Job } from 'bullmq';
import type { EntityManager } from 'typeorm';
import { enqueueInTx } from '../../src/modules/outbox/outbox.writer';
import type { ReminderThreshold } from '../../src/modules/reminder/reminder.entity';
import { credentialRotationDue } from '../../src/modules/webhook/webhook-messages';
import { crossedThreshold, REMINDER_HORIZON_DAYS } from '../../src/modules/reminder/reminder.thresholds';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';

export type RotationSweepDeps = Pick<ProcessorDeps, 'db' | 'log'>;

export const ROTATION_SWEEP_PAGE = 500;

interface DueRow {
  id: string;
  rotate_by: Date;
  /** rotate_by as PostgreSQL prints it: a keyset cursor without JavaScript's millisecond rounding. */
  cursor_at: string;
  version: number;
}

interface NewReminder {
  id: string;
  tenant_id: string;
  credential_id: string;
  credential_version: number;
  threshold: ReminderThreshold;
  rotate_by: Date;
  created_at: Date;
}

/**
 * Daily: records a rotation reminder for every live credential whose rotate-by date has crossed
 * 14, 7 or 1 days ahead, or passed. One reminder per key version and threshold (the unique index
 * uq_rotation_reminders_once), so a second run the same day records and sends nothing. A reminder
 * is about the version gateways are served (current, or the newest while none has validated).
 */
export async function rotationSweep(deps: RotationSweepDeps, job: Job<JobPayloads['rotation-sweep']>) {
  const now = new Date();
  let after: { at: string; id: string } | null = null;
  let recorded = 0;
  let delivered = 0;
  for (;;) {
    // Keyset over (rotate_by, id): the partial index ix_credentials_rotate_by serves it.
    const rows: DueRow[] = await deps.db.query(
      `SELECT c.id, c.rotate_by, c.rotate_by::text AS cursor_at,
              COALESCE(c.current_version, c.latest_version) AS version
         FROM credentials c
        WHERE c.revoked_at IS NULL
          AND c.rotate_by <= $1::timestamptz + make_interval(days => $2)
          AND ($3::timestamptz IS NULL OR (c.rotate_by, c.id) > ($3::timestamptz, $4::uuid))
        ORDER BY c.rotate_by, c.id
        LIMIT $5`,
      [now, REMINDER_HORIZON_DAYS, after?.at ?? null, after?.id ?? null, ROTATION_SWEEP_PAGE],
    );
    if (rows.length === 0) break;
    const due = rows.map((r) => ({ ...r, threshold: crossedThreshold(r.rotate_by, now) })).filter((r) => r.threshold);
    if (due.length > 0) {
      const page = await deps.db.transaction((tx) => recordReminders(tx, due as (DueRow & { threshold: ReminderThreshold })[]));
      recorded += page.recorded;
      delivered += page.delivered;
    }
    if (rows.length < ROTATION_SWEEP_PAGE) break;
    const last = rows[rows.length - 1];
    after = { at: last.cursor_at, id: last.id };
  }
  deps.log.info({ job: job.name, jobId: job.id, recorded, delivered }, 'rotation sweep done');
  return { recorded, delivered };
}

/** Inserts what is new and, in the same transaction, a webhook delivery for tenants that have a URL. */
async function recordReminders(
  tx: EntityManager,
  due: (DueRow & { threshold: ReminderThreshold })[],
): Promise<{ recorded: number; delivered: number }> {
  const inserted = rowsOf<NewReminder>(
    await tx.query(
      `INSERT INTO rotation_reminders (tenant_id, credential_id, credential_version, threshold, rotate_by)
       SELECT c.tenant_id, c.id, d.version, d.threshold, c.rotate_by
         FROM unnest($1::uuid[], $2::int[], $3::text[]) AS d(credential_id, version, threshold)
         JOIN credentials c ON c.id = d.credential_id AND c.revoked_at IS NULL
       ON CONFLICT (credential_id, credential_version, threshold) DO NOTHING
       RETURNING id, tenant_id, credential_id, credential_version, threshold, rotate_by, created_at`,
      [due.map((d) => d.id), due.map((d) => d.version), due.map((d) => d.threshold)],
    ),
  );
  if (inserted.length === 0) return { recorded: 0, delivered: 0 };
  const withUrl: { id: string }[] = await tx.query('SELECT id FROM tenants WHERE id = ANY($1::uuid[]) AND notification_webhook_url IS NOT NULL', [
    [...new Set(inserted.map((r) => r.tenant_id))],
  ]);
  const notify = new Set(withUrl.map((t) => t.id));
  let delivered = 0;
  for (const reminder of inserted.filter((r) => notify.has(r.tenant_id))) {
    if (await queueDelivery(tx, reminder)) delivered++;
  }
  return { recorded: inserted.length, delivered };
}

async function queueDelivery(tx: EntityManager, r: NewReminder): Promise<boolean> {
  // Ids, version and dates only: the receiver looks the key up by id; no label, hint or key.
  const payload = credentialRotationDue(
    {
      tenantId: r.tenant_id,
      credentialId: r.credential_id,
      reminderId: r.id,
      version: r.credential_version,
      threshold: r.threshold,
      rotateBy: r.rotate_by.toISOString(),
    },
    r.created_at,
  );
  const [delivery] = rowsOf<{ id: string }>(
    await tx.query(
      `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status)
       VALUES ($1, 'ROTATION_REMINDER', $2, $3, $4::jsonb, 'PENDING')
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id`,
      [r.tenant_id, r.id, `rotation-reminder:${r.id}`, JSON.stringify(payload)],
    ),
  );
  if (!delivery) return false;
  await tx.query('UPDATE rotation_reminders SET delivery_id = $3 WHERE tenant_id = $1 AND id = $2', [r.tenant_id, r.id, delivery.id]);
  await enqueueInTx(tx, 'deliver-webhook', { tenantId: r.tenant_id, deliveryId: delivery.id, replay: 0 });
  return true;
}

/** TypeORM returns [rows, count] for UPDATE ... RETURNING and plain rows otherwise. */
function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}
