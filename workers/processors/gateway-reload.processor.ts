import { refuseStaleOrForeign } from './foreign-job';
import { UnrecoverableError, type Job } from 'bullmq';
import type { DeliveryStatus } from '../../src/modules/webhook/webhook.entity';
import { GATEWAY_CONFIG_CHANGED, gatewayConfigChanged } from '../../src/modules/webhook/webhook-messages';
import { attemptDelivery, type DeliveryRow } from '../../src/modules/webhook/webhook-sender';
import type { JobPayloads } from '../../src/queue/registry';
import { isLastTry, settle, webhookSlot, type DeliverDeps } from './deliver-webhook.processor';
import { triesStarted } from './outbound-slot';

export const RELOAD_EVENT = GATEWAY_CONFIG_CHANGED;

export const reloadDedupeKey = (gatewayId: string, configVersion: number): string => `gateway-reload:${gatewayId}:${configVersion}`;

/**
 * Tells one gateway (signed webhook) that its config changed. The registry debounces bursts per
 * gateway; on top of that a job's first try names the gateway's CURRENT version, and the dedupe
 * key (gateway + version) keeps it to one delivery however many jobs arrive for it.
 * A gateway without a webhook URL gets no delivery row at all: it learns by pulling its config.
 */
export async function gatewayReload(deps: DeliverDeps, job: Job<JobPayloads['gateway-reload']>) {
  const { tenantId, gatewayId, configVersion, reason, resend } = job.data;
  const gateways: { config_version: number; config_changed_at: Date; webhook_url: string | null; disabled: boolean }[] = await deps.db.query(
    `SELECT config_version, config_changed_at, webhook_url, webhook_disabled_at IS NOT NULL AS disabled
       FROM gateways WHERE tenant_id = $1 AND id = $2`,
    [tenantId, gatewayId],
  );
  const gateway = gateways[0];
  // Forged (wrong tenant) or stale (gateway deleted) jobs end here without side effects.
  if (!gateway) return refuseStaleOrForeign(deps, job, { table: 'gateways', id: gatewayId, tenantId }, 'no such gateway');
  if (!gateway.webhook_url) return { skipped: 'NO_URL' };
  // Tries started, not attemptsMade: a try put off by Retry-After does not count in attemptsMade.
  // A job put back for want of an outbound slot did not try, but it has pinned its version and
  // made its delivery row already: its next start must keep them, or that row would be left PENDING.
  const firstTry = triesStarted(job) === 1 && !job.data.deferred;
  // Disabled (410, or dead deliveries in a row): no delivery row at all. Nothing is lost: a reload
  // message only says "pull again", and re-enabling announces the latest version (resend below).
  if (gateway.disabled && firstTry) return { skipped: 'DISABLED' };

  // The first try announces the newest version and pins it in the job, so retries keep working on
  // that one delivery (a later change has a job of its own) instead of leaving it RETRYING forever.
  const version = firstTry ? Math.max(gateway.config_version, configVersion) : configVersion;
  if (version !== configVersion) await job.updateData({ ...job.data, configVersion: version });
  // The event time is when the announced version came about; a retry pinned to an older one
  // (its row is normally made already) takes now.
  const changedAt = version === gateway.config_version ? gateway.config_changed_at : new Date();
  const payload = gatewayConfigChanged({ tenantId, gatewayId, configVersion: version, reason }, changedAt);
  const dedupeKey = reloadDedupeKey(gatewayId, version);
  await deps.db.query(
    `INSERT INTO webhook_deliveries (tenant_id, kind, target_id, dedupe_key, payload, status)
     VALUES ($1, 'GATEWAY_RELOAD', $2, $3, $4::jsonb, 'PENDING')
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [tenantId, gatewayId, dedupeKey, JSON.stringify(payload)],
  );
  const rows: { id: string; payload: Record<string, unknown>; status: DeliveryStatus; created_at: Date }[] = await deps.db.query(
    `SELECT id, payload, status, created_at FROM webhook_deliveries
      WHERE tenant_id = $1 AND dedupe_key = $2 AND kind = 'GATEWAY_RELOAD' AND target_id = $3`,
    [tenantId, dedupeKey, gatewayId],
  );
  const row = rows[0];
  if (!row) throw new UnrecoverableError('dedupe key taken by another delivery');
  // A re-enabled webhook missed this version: its dead or held message goes again (same webhook-id),
  // as a replay would; a newer replay count supersedes any deliver-webhook job still around for it.
  if (resend && firstTry && (row.status === 'DEAD' || row.status === 'HELD')) {
    await deps.db.query(
      `UPDATE webhook_deliveries SET status = 'PENDING', replay_count = replay_count + 1, dead_at = NULL, updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND status IN ('DEAD', 'HELD')`,
      [tenantId, row.id],
    );
    row.status = 'PENDING';
  }
  // Settled by an earlier job for the same version: sending again would be a duplicate.
  if (row.status === 'DELIVERED' || row.status === 'DEAD' || row.status === 'HELD') return { skipped: row.status };
  const delivery: DeliveryRow = {
    id: row.id,
    tenantId,
    kind: 'GATEWAY_RELOAD',
    targetId: gatewayId,
    payload: row.payload,
    createdAt: row.created_at,
  };
  return settle(deps, job, await attemptDelivery(deps, delivery, isLastTry(job, deps.config.webhook.maxAttempts), webhookSlot(deps, job)));
}
