import type { DataSource } from 'typeorm';
import { KeyVersionUnavailableError, SEALS, type Fingerprinter, type SecretBox } from '../../crypto';

/** What these helpers need: a DataSource or a transaction's EntityManager. */
interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface VersionedFingerprint {
  fingerprint: Buffer;
  pepperVersion: number;
}

/** The tables that store a fingerprint with its pepper version (src/crypto/fingerprint.ts). */
export const FINGERPRINT_TABLES = [
  { table: 'credential_versions', where: 'fingerprint IS NOT NULL' },
  { table: 'key_reuse_alerts', where: 'TRUE' },
] as const;

/**
 * The distinct pepper versions one table's fingerprints use: a loose index scan (a recursive CTE
 * that jumps to the next larger version over the pepper_version index), so a handful of index
 * probes whatever the row count. Table names are constants above, never input.
 */
export async function pepperVersionsIn(db: Queryable, t: (typeof FINGERPRINT_TABLES)[number]): Promise<number[]> {
  const rows: { k: number }[] = await db.query(
    `WITH RECURSIVE v(k) AS (
       (SELECT pepper_version FROM ${t.table} WHERE ${t.where} ORDER BY pepper_version LIMIT 1)
       UNION ALL
       SELECT (SELECT pepper_version FROM ${t.table} WHERE ${t.where} AND pepper_version > v.k ORDER BY pepper_version LIMIT 1)
         FROM v WHERE v.k IS NOT NULL
     )
     SELECT k FROM v WHERE k IS NOT NULL`,
  );
  return rows.map((r) => Number(r.k));
}

/** Every pepper version some stored fingerprint uses, ascending. */
export async function pepperVersionsInUse(db: Queryable): Promise<number[]> {
  const all = new Set<number>();
  for (const t of FINGERPRINT_TABLES) for (const v of await pepperVersionsIn(db, t)) all.add(v);
  return [...all].sort((a, b) => a - b);
}

/** Fingerprints per table and pepper version (custody view, start-up check). */
export async function pepperCounts(db: Queryable, versions?: readonly number[]): Promise<{ table: string; pepperVersion: number; count: number }[]> {
  const out: { table: string; pepperVersion: number; count: number }[] = [];
  for (const t of FINGERPRINT_TABLES) {
    const wanted = versions ?? (await pepperVersionsIn(db, t));
    if (wanted.length === 0) continue;
    const rows: { v: number; n: number }[] = await db.query(
      `SELECT pepper_version AS v, count(*)::int AS n FROM ${t.table} WHERE ${t.where} AND pepper_version = ANY($1::int[]) GROUP BY pepper_version`,
      [wanted],
    );
    for (const r of rows) out.push({ table: t.table, pepperVersion: Number(r.v), count: r.n });
  }
  return out.sort((a, b) => a.pepperVersion - b.pepperVersion || a.table.localeCompare(b.table));
}

const lockSql = `SELECT pg_advisory_xact_lock(hashtextextended(encode($1::bytea, 'hex'), 0))`;

/**
 * Moves every row holding one fingerprint to the same key's fingerprint under another pepper
 * version: key versions and the alerts that follow them, together, so a group is never split
 * across versions. Equal HMACs under one pepper mean the same key, so one decrypted key rekeys all
 * its holders. Takes the advisory locks of both fingerprints (the ones reconcileFingerprint takes,
 * in a fixed order), and writes only rows still holding `from` (compare-and-set): idempotent.
 */
export async function remapFingerprint(db: DataSource, from: VersionedFingerprint, to: VersionedFingerprint): Promise<number> {
  if (from.pepperVersion === to.pepperVersion) return 0;
  return db.transaction(async (tx) => {
    for (const fp of [from.fingerprint, to.fingerprint].sort(Buffer.compare)) await tx.query(lockSql, [fp]);
    const moved: unknown = await tx.query(
      `UPDATE credential_versions SET fingerprint = $3, pepper_version = $4 WHERE fingerprint = $1 AND pepper_version = $2`,
      [from.fingerprint, from.pepperVersion, to.fingerprint, to.pepperVersion],
    );
    await tx.query(`UPDATE key_reuse_alerts SET fingerprint = $3, pepper_version = $4 WHERE fingerprint = $1 AND pepper_version = $2`, [
      from.fingerprint,
      from.pepperVersion,
      to.fingerprint,
      to.pepperVersion,
    ]);
    return Array.isArray(moved) && typeof moved[1] === 'number' ? moved[1] : 0;
  });
}

/**
 * remapFingerprint for many fingerprints in one transaction (the rekey job's pages): the same
 * advisory locks, all taken up front in one fixed order (byte order of the fingerprints, the order
 * remapFingerprint uses), so a page never deadlocks with a single remap or a reconcile; the same
 * compare-and-set on (fingerprint, pepper version), so a holder already moved is not touched again.
 * One round trip for the locks and one UPDATE per table, instead of four statements and a commit per key.
 * Returns the credential versions moved.
 */
export async function remapFingerprints(db: DataSource, moves: readonly { from: VersionedFingerprint; to: VersionedFingerprint }[]): Promise<number> {
  // The same key under the same pepper always maps to the same target: one entry per source.
  const bySource = new Map<string, { from: VersionedFingerprint; to: VersionedFingerprint }>();
  for (const m of moves) {
    if (m.from.pepperVersion !== m.to.pepperVersion) bySource.set(`${m.from.pepperVersion}:${m.from.fingerprint.toString('hex')}`, m);
  }
  const list = [...bySource.values()];
  if (list.length === 0) return 0;
  const locks = new Map<string, Buffer>();
  for (const m of list) for (const fp of [m.from.fingerprint, m.to.fingerprint]) locks.set(fp.toString('hex'), fp);
  const ordered = [...locks.values()].sort(Buffer.compare);
  const args = [
    list.map((m) => m.from.fingerprint),
    list.map((m) => m.from.pepperVersion),
    list.map((m) => m.to.fingerprint),
    list.map((m) => m.to.pepperVersion),
  ];
  return db.transaction(async (tx) => {
    // A function scan returns the array in order and the aggregate evaluates row by row: the locks are taken in `ordered` order.
    await tx.query(`SELECT count(pg_advisory_xact_lock(hashtextextended(encode(f, 'hex'), 0))) FROM unnest($1::bytea[]) AS l(f)`, [ordered]);
    const moved: unknown = await tx.query(
      `UPDATE credential_versions v SET fingerprint = u.tf, pepper_version = u.tv
         FROM unnest($1::bytea[], $2::int[], $3::bytea[], $4::int[]) AS u(ff, fv, tf, tv)
        WHERE v.fingerprint = u.ff AND v.pepper_version = u.fv`,
      args,
    );
    await tx.query(
      `UPDATE key_reuse_alerts a SET fingerprint = u.tf, pepper_version = u.tv
         FROM unnest($1::bytea[], $2::int[], $3::bytea[], $4::int[]) AS u(ff, fv, tf, tv)
        WHERE a.fingerprint = u.ff AND a.pepper_version = u.fv`,
      args,
    );
    return Array.isArray(moved) && typeof moved[1] === 'number' ? moved[1] : 0;
  });
}

export interface SealedVersionRow {
  tenantId: string;
  credentialId: string;
  version: number;
  kekVersion: number | null;
  wrappedKey: Buffer | null;
  ciphertext: Buffer | null;
}

/**
 * Runs `use` with the version's plaintext key, opened in memory only; null when it has no material
 * or does not open (the caller counts it). The plaintext is never logged, stored or returned.
 */
export async function withOpenedKey<T>(box: Pick<SecretBox, 'open'>, row: SealedVersionRow, use: (secret: string) => T): Promise<T | null> {
  if (row.kekVersion == null || !row.wrappedKey || !row.ciphertext) return null;
  let secret: string;
  try {
    secret = await box.open(
      { kekVersion: row.kekVersion, wrappedKey: row.wrappedKey, ciphertext: row.ciphertext },
      SEALS.credentialVersion.context({ tenantId: row.tenantId, objectId: row.credentialId, version: row.version }),
    );
  } catch (error) {
    // A key version this process lacks, or an HSM that does not answer, is not a bad record: the
    // job retries later instead of counting the key as unreadable.
    if (error instanceof KeyVersionUnavailableError) throw error;
    return null;
  }
  return use(secret);
}

/**
 * Mid-rotation matching for one key version: while fingerprints under older peppers are still
 * stored, the key is fingerprinted under every version in use, and holders found under an older
 * one are moved to the current version (with their alerts), so the duplicate is one group and
 * nothing is missed before the rekey job finishes. The version itself moves to the current pepper
 * too. Returns the fingerprint to reconcile: the current one, or the stored one when nothing had
 * to move (no rotation under way) or the key did not open.
 */
export async function convergeFingerprint(
  deps: { db: DataSource; box: Pick<SecretBox, 'open'>; fingerprinter: Pick<Fingerprinter, 'currentVersion' | 'hasVersion' | 'fingerprintUnder'> },
  row: SealedVersionRow & VersionedFingerprint,
): Promise<{ fingerprint: Buffer; moved: number; unreadable: boolean }> {
  const current = deps.fingerprinter.currentVersion;
  const older = (await pepperVersionsInUse(deps.db)).filter((v) => v !== current);
  if (older.length === 0 && row.pepperVersion === current) return { fingerprint: row.fingerprint, moved: 0, unreadable: false };
  const under = await withOpenedKey(deps.box, row, (secret) => ({
    current: deps.fingerprinter.fingerprintUnder(current, secret),
    older: older
      .filter((v) => v !== row.pepperVersion && deps.fingerprinter.hasVersion(v))
      .map((v) => ({
        pepperVersion: v,
        fingerprint: deps.fingerprinter.fingerprintUnder(v, secret),
      })),
  }));
  if (!under) return { fingerprint: row.fingerprint, moved: 0, unreadable: true };
  const target = { fingerprint: under.current, pepperVersion: current };
  let moved = 0;
  if (row.pepperVersion !== current) moved += await remapFingerprint(deps.db, row, target);
  for (const old of under.older) moved += await remapFingerprint(deps.db, old, target);
  return { fingerprint: under.current, moved, unreadable: false };
}
