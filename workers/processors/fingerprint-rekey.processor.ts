import type { Job } from 'bullmq';
import { auditInTx } from '../../src/modules/audit/audit.writer';
import { SYSTEM_ACTOR } from '../../src/modules/auth/actor';
import { LIVE_SQL, reconcileFingerprint } from '../../src/modules/alert/key-reuse.reconcile';
import { remapFingerprint, remapFingerprints, withOpenedKey, type VersionedFingerprint } from '../../src/modules/alert/pepper-remap';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';
import { publishRaised } from './fingerprint-credential.processor';

export const REKEY_PAGE_SIZE = 200;

export type FingerprintRekeyDeps = Pick<ProcessorDeps, 'db' | 'box' | 'fingerprinter' | 'events' | 'log'>;

export interface RekeyProgress {
  processed: number;
  total: number;
  rekeyed: number;
  failed: number;
}

interface Row {
  id: string;
  tenant_id: string;
  credential_id: string;
  version: number;
  pepper_version: number;
  fingerprint: Buffer;
  kek_version: number | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
}

/**
 * Recomputes every stored fingerprint under this worker's current pepper version: pages through the
 * key versions still under another version (keyset by id), opens each key in memory, and moves all
 * holders of that key, with their alerts, to the new fingerprint at once (remapFingerprint). The
 * plaintext never leaves this function; progress and logs hold counts only.
 *
 * Resumable by construction: a rekeyed row no longer matches the page query, so a retry (or a new
 * run after a lost job) continues with what is left. Keys that do not open are counted and left
 * under their version (the start-up check then keeps naming that version). At the end, alerts still
 * under an old version (their key is held by no row any more) are reconciled, which resolves them,
 * and their fingerprint is replaced by a keyed hash of it under the current pepper in its own domain:
 * it groups those alerts as before and matches no key, so the old pepper can leave the ring.
 */
export async function fingerprintRekey(
  deps: FingerprintRekeyDeps,
  job: Pick<Job<JobPayloads['fingerprint-rekey']>, 'updateProgress' | 'data' | 'id'>,
  pageSize = REKEY_PAGE_SIZE,
) {
  const current = deps.fingerprinter.currentVersion;
  const [{ n: total }]: { n: number }[] = await deps.db.query(
    `SELECT count(*)::int AS n FROM credential_versions WHERE fingerprint IS NOT NULL AND pepper_version <> $1`,
    [current],
  );
  const progress: RekeyProgress = { processed: 0, total, rekeyed: 0, failed: 0 };
  // Only targets found shared after their page's move are kept (a handful), not every key: at a
  // million keys a set of all targets (and an array of them sent back) would cost ~150 MB.
  const touched = new Set<string>();
  let after = '00000000-0000-0000-0000-000000000000';
  await job.updateProgress({ ...progress });
  // One page's writes run while the next page is read and opened (two cores: PostgreSQL and this
  // process). Safe to overlap: every write is a compare-and-set, and a page that finds a key already
  // moved by the one before computes the same target and moves nothing.
  let writing: Promise<void> = Promise.resolve();
  for (;;) {
    const page: Row[] = await deps.db.query(
      `SELECT id, tenant_id, credential_id, version, pepper_version, fingerprint, kek_version, wrapped_key, ciphertext
         FROM credential_versions WHERE fingerprint IS NOT NULL AND pepper_version <> $1 AND id > $2 ORDER BY id LIMIT $3`,
      [current, after, pageSize],
    );
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    const moves: { from: VersionedFingerprint; to: VersionedFingerprint }[] = [];
    let failed = 0;
    for (const row of page) {
      const target = await withOpenedKey(
        deps.box,
        {
          tenantId: row.tenant_id,
          credentialId: row.credential_id,
          version: row.version,
          kekVersion: row.kek_version,
          wrappedKey: row.wrapped_key,
          ciphertext: row.ciphertext,
        },
        (secret) => deps.fingerprinter.fingerprintUnder(current, secret),
      );
      if (!target) failed++;
      // Every holder of the key moves with this one (remapFingerprints), with its alerts.
      else
        moves.push({
          from: { fingerprint: row.fingerprint, pepperVersion: row.pepper_version },
          to: { fingerprint: target, pepperVersion: current },
        });
    }
    await writing;
    writing = (async () => {
      progress.rekeyed += await remapFingerprints(deps.db, moves);
      for (const fp of await sharedAmong(
        deps.db,
        moves.map((m) => m.to.fingerprint),
      ))
        touched.add(fp);
      progress.failed += failed;
      progress.processed += page.length;
      await job.updateProgress({ ...progress, total: Math.max(progress.total, progress.processed) });
    })();
    // A failed write must not wait for the next page's read to be noticed.
    writing.catch(() => undefined);
  }
  await writing;

  // Keys held by two or more credentials after the move: one reconcile each (it only moves last_seen_at when nothing changed).
  for (const fp of await sharedAmong(
    deps.db,
    [...touched].map((h) => Buffer.from(h, 'hex')),
  ))
    await publishRaised(deps, (await reconcileFingerprint(deps.db, Buffer.from(fp, 'hex'), null)).raised);

  // Alerts about keys no row holds under their old version any more.
  const stale: { fp: Buffer; v: number }[] = await deps.db.query(
    `SELECT DISTINCT a.fingerprint AS fp, a.pepper_version AS v FROM key_reuse_alerts a
      WHERE a.pepper_version <> $1
        AND NOT EXISTS (SELECT 1 FROM credential_versions w WHERE w.fingerprint = a.fingerprint AND w.pepper_version = a.pepper_version)`,
    [current],
  );
  let retired = 0;
  for (const { fp, v } of stale) {
    await reconcileFingerprint(deps.db, fp, null);
    retired += await remapFingerprint(
      deps.db,
      { fingerprint: fp, pepperVersion: v },
      { fingerprint: deps.fingerprinter.keyedHash('retired-fingerprint', fp.toString('hex')), pepperVersion: current },
    );
  }
  const [{ n: left }]: { n: number }[] = await deps.db.query(
    `SELECT count(*)::int AS n FROM credential_versions WHERE fingerprint IS NOT NULL AND pepper_version <> $1`,
    [current],
  );
  const summary = {
    pepperVersion: current,
    processed: progress.processed,
    rekeyed: progress.rekeyed,
    failed: progress.failed,
    retiredAlerts: stale.length,
    left,
  };
  await job.updateProgress({ ...progress, total: progress.processed });
  await auditInTx(deps.db.manager, SYSTEM_ACTOR, {
    tenantId: null,
    action: 'PEPPER_REKEY_FINISHED',
    targetType: 'PEPPER_REKEY',
    targetId: String(job.id ?? ''),
    details: summary,
  });
  deps.log.info({ requestedAt: job.data.requestedAt, ...summary, retired }, 'fingerprint rekey done');
  return summary;
}

/** Of these fingerprints, the ones two or more live credentials hold (hex, distinct). */
async function sharedAmong(db: FingerprintRekeyDeps['db'], fingerprints: Buffer[]): Promise<string[]> {
  if (fingerprints.length === 0) return [];
  const rows: { fp: string }[] = await db.query(
    `SELECT DISTINCT encode(h, 'hex') AS fp FROM unnest($1::bytea[]) AS h
      WHERE (SELECT count(DISTINCT v.credential_id) FROM credential_versions v
               JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
              WHERE v.fingerprint = h AND ${LIVE_SQL('v', 'c')}) > 1`,
    [fingerprints],
  );
  return rows.map((r) => r.fp);
}
