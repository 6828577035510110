import { escapeIdentifier as ident } from 'pg';
import { KekUnavailableError, SEAL_KINDS, type SealContext, type SecretBox } from '../../crypto';
import type { Queryable } from './sealed-rows';

/**
 * One known value sealed under each KEK version (table kek_check_values). Opening it proves this
 * process holds the same key the database was sealed with: a wrong key fails at start, not later
 * on the first key a gateway asks for. Not a seal catalogue kind: it stays under its own version.
 */
const CHECK_PLAINTEXT = 'keyplane/kek-check-value/v1';
const checkContext = (version: number): SealContext => ({ purpose: 'kek-check-value', tenantId: 'platform', objectId: `kek-${version}`, version });
/** How many stored records a key is tried on before its first check value is written. */
const SAMPLE = 20;

export type CheckResult = 'VERIFIED' | 'CREATED' | 'WRONG_KEY';

type Box = Pick<SecretBox, 'open' | 'seal' | 'keyVersions'>;

async function opens(box: Box, row: { wrapped_key: Buffer; ciphertext: Buffer }, version: number): Promise<boolean> {
  try {
    return (
      (await box.open({ kekVersion: version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }, checkContext(version))) === CHECK_PLAINTEXT
    );
  } catch (error) {
    // An HSM that cannot be reached says nothing about the key: its own error, not WRONG_KEY.
    if (error instanceof KekUnavailableError) throw error;
    return false;
  }
}

/**
 * Before the first check value of a version is written, the key must open at least one record
 * already sealed under it (if any): otherwise a wrong key given on the first start after an upgrade
 * (or a development key generated afresh against a used database) would become the reference.
 */
async function keyOpensExistingRecords(db: Queryable, box: Box, version: number): Promise<boolean> {
  let tried = 0;
  for (const kind of SEAL_KINDS) {
    const col = (c: string) => ident(c);
    const tenant = 'column' in kind.tenant ? `${col(kind.tenant.column)}::text` : 'NULL';
    const ver = 'column' in kind.version ? col(kind.version.column) : 'NULL';
    const rows: { o: string; t: string | null; v: number | null; w: Buffer; c: Buffer }[] = await db.query(
      `SELECT ${col(kind.objectColumn)}::text AS o, ${tenant} AS t, ${ver} AS v, ${col(kind.columns.wrappedKey)} AS w, ${col(kind.columns.ciphertext)} AS c
         FROM ${ident(kind.table)} WHERE ${col(kind.columns.kekVersion)} = $1 AND ${col(kind.columns.wrappedKey)} IS NOT NULL LIMIT ${SAMPLE}`,
      [version],
    );
    for (const r of rows) {
      tried++;
      try {
        await box.open(
          { kekVersion: version, wrappedKey: r.w, ciphertext: r.c },
          kind.context({ objectId: r.o, tenantId: r.t ?? undefined, version: r.v ?? undefined } as never),
        );
        return true;
      } catch (error) {
        if (error instanceof KekUnavailableError) throw error;
        // tampered rows exist; one that opens is enough
      }
    }
  }
  return tried === 0;
}

/** Verifies (or, for a version seen the first time, writes) the check value of every version in the ring. */
export async function checkKeyVersions(db: Queryable, box: Box): Promise<Map<number, CheckResult>> {
  const results = new Map<number, CheckResult>();
  for (const version of box.keyVersions()) {
    const read = async () =>
      (
        (await db.query('SELECT wrapped_key, ciphertext FROM kek_check_values WHERE key_version = $1', [version])) as {
          wrapped_key: Buffer;
          ciphertext: Buffer;
        }[]
      )[0];
    let row = await read();
    if (!row) {
      if (!(await keyOpensExistingRecords(db, box, version))) {
        results.set(version, 'WRONG_KEY');
        continue;
      }
      const sealed = await box.seal(CHECK_PLAINTEXT, checkContext(version), version);
      // Two processes starting at once: the first row wins, and both verify it below.
      const inserted = await db.query(
        'INSERT INTO kek_check_values (key_version, wrapped_key, ciphertext) VALUES ($1, $2, $3) ON CONFLICT (key_version) DO NOTHING RETURNING key_version',
        [version, sealed.wrappedKey, sealed.ciphertext],
      );
      row = await read();
      if (row && (await opens(box, row, version))) {
        results.set(version, inserted.length ? 'CREATED' : 'VERIFIED');
        continue;
      }
      results.set(version, 'WRONG_KEY');
      continue;
    }
    results.set(version, (await opens(box, row, version)) ? 'VERIFIED' : 'WRONG_KEY');
  }
  return results;
}
