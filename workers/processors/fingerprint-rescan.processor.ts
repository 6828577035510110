import type { Job } from 'bullmq';
import { LIVE_SQL, reconcileFingerprint } from '../../src/modules/alert/key-reuse.reconcile';
import type { JobPayloads } from '../../src/queue/registry';
import { publishRaised, type FingerprintDeps } from './fingerprint-credential.processor';

export const RESCAN_PAGE_SIZE = 500;

export interface RescanProgress {
  processed: number;
  total: number;
}

/**
 * Fingerprints every stored live key again: pages through versions by id (keyset, so rows added
 * meanwhile never shift a page) and reconciles each shared or alerted fingerprint once. It never
 * reopens what a person acknowledged or dismissed (no new registration), so running it again only
 * moves last_seen_at. At the end, alerts about keys that no longer exist anywhere are resolved.
 */
export async function fingerprintRescan(
  deps: FingerprintDeps,
  job: Pick<Job<JobPayloads['fingerprint-rescan']>, 'updateProgress' | 'data'>,
  pageSize = RESCAN_PAGE_SIZE,
) {
  const [{ n: total }]: { n: number }[] = await deps.db.query(
    `SELECT count(*)::int AS n FROM credential_versions v JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
      WHERE ${LIVE_SQL('v', 'c')}`,
  );
  const done = new Set<string>();
  let processed = 0;
  let groups = 0;
  let resolved = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  const reconcile = async (hex: string) => {
    if (done.has(hex)) return;
    done.add(hex);
    const result = await reconcileFingerprint(deps.db, Buffer.from(hex, 'hex'), null);
    groups++;
    resolved += result.resolved;
    await publishRaised(deps, result.raised);
  };
  await job.updateProgress({ processed, total } satisfies RescanProgress);
  for (;;) {
    const page: { id: string; fp: string }[] = await deps.db.query(
      `SELECT v.id, encode(v.fingerprint, 'hex') AS fp
         FROM credential_versions v JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
        WHERE ${LIVE_SQL('v', 'c')} AND v.id > $1 ORDER BY v.id LIMIT $2`,
      [after, pageSize],
    );
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    // Only keys held by two or more credentials, or that already have alerts, need work.
    const candidates = [...new Set(page.map((r) => r.fp))].filter((fp) => !done.has(fp));
    const shared: { fp: string }[] = await deps.db.query(
      `SELECT h AS fp FROM unnest($1::text[]) AS h
        WHERE EXISTS (SELECT 1 FROM key_reuse_alerts a WHERE a.fingerprint = decode(h, 'hex'))
           OR (SELECT count(DISTINCT v.credential_id) FROM credential_versions v
                 JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
                WHERE v.fingerprint = decode(h, 'hex') AND ${LIVE_SQL('v', 'c')}) > 1`,
      [candidates],
    );
    for (const { fp } of shared) await reconcile(fp);
    processed += page.length;
    await job.updateProgress({ processed, total: Math.max(total, processed) } satisfies RescanProgress);
  }
  // Alerts whose credential no longer holds their key (revoked, retired), including keys no one holds.
  const stale: { fp: string }[] = await deps.db.query(
    `SELECT DISTINCT encode(a.fingerprint, 'hex') AS fp FROM key_reuse_alerts a
      WHERE a.status <> 'RESOLVED'
        AND NOT EXISTS (SELECT 1 FROM credential_versions v JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
                         WHERE v.credential_id = a.credential_id AND v.fingerprint = a.fingerprint AND ${LIVE_SQL('v', 'c')})`,
  );
  for (const { fp } of stale) await reconcile(fp);
  // Rows may have been added or removed while paging: what was scanned is the final total.
  await job.updateProgress({ processed, total: processed } satisfies RescanProgress);
  deps.log.info({ requestedAt: job.data.requestedAt, processed, groups, resolved }, 'fingerprint rescan done');
  return { processed, total: processed, groups, resolved };
}
