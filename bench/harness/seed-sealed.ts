import type { Pool } from 'pg';
import { SEALS } from '../../src/crypto';
import { box, fingerprinter } from './db';

/** The placeholder wrapped key seedMillion writes (decode(repeat('a5', 60), 'hex')). */
const PLACEHOLDER = Buffer.alloc(60, 0xa5);
const BATCH = 5_000;

/** The provider key of a seeded version: unique per credential, well-formed for the openai rule. */
export const seededKey = (credentialId: string) => `sk-proj-seed${credentialId.replace(/-/g, '')}`;

/**
 * Gives every version seedMillion wrote (placeholder bytes) real material: its key sealed under KEK 1
 * with its own AAD, and its real fingerprint under pepper 1, as the API would have stored them. The
 * key-custody scenarios open, rewrap and re-fingerprint these rows, so they must be real. Not timed.
 * Sealing runs here while the previous batch's UPDATE runs in PostgreSQL (two cores, both busy).
 * Idempotent: only rows still holding the placeholder are touched.
 */
export async function sealSeededVersions(pool: Pool, log: (m: string) => void): Promise<number> {
  const started = Date.now();
  let after = '00000000-0000-0000-0000-000000000000';
  let done = 0;
  let pending: Promise<unknown> | null = null;
  for (;;) {
    const { rows } = await pool.query<{ id: string; tenant_id: string; credential_id: string; version: number }>(
      `SELECT id, tenant_id, credential_id, version FROM credential_versions
        WHERE id > $1 AND wrapped_key = $2 ORDER BY id LIMIT $3`,
      [after, PLACEHOLDER, BATCH],
    );
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    const w: Buffer[] = [];
    const c: Buffer[] = [];
    const f: Buffer[] = [];
    for (const r of rows) {
      const key = seededKey(r.credential_id);
      const s = await box.seal(key, SEALS.credentialVersion.context({ tenantId: r.tenant_id, objectId: r.credential_id, version: r.version }));
      w.push(s.wrappedKey);
      c.push(s.ciphertext);
      f.push(fingerprinter.fingerprint(key));
    }
    await pending;
    pending = pool.query(
      `UPDATE credential_versions v SET kek_version = 1, wrapped_key = u.w, ciphertext = u.c, fingerprint = u.f, pepper_version = 1
         FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bytea[]) AS u(id, w, c, f)
        WHERE v.id = u.id`,
      [rows.map((r) => r.id), w, c, f],
    );
    done += rows.length;
    if (done % 100_000 < BATCH) log(`  sealed ${done.toLocaleString('en-US')} seeded versions (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  await pending;
  if (done > 0) await pool.query('VACUUM ANALYZE credential_versions');
  return done;
}
