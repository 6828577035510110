import type { Logger } from 'pino';
import { SEAL_KINDS, type Fingerprinter, type SecretBox } from '../../crypto';
import { pepperCounts, pepperVersionsInUse } from '../alert/pepper-remap';
import { checkKeyVersions } from './check-values';
import { countsUnder, describeCounts, versionsInUse, type Queryable } from './sealed-rows';

/** The process must not serve: the message names versions and counts, never key material. */
export class KeyCustodyError extends Error {
  override name = 'KeyCustodyError';
}

/**
 * Fail closed at start (API and workers): every KEK version the database uses must be in this
 * process's keyring, and every key in the ring must open its check value. Throws KeyCustodyError;
 * the entrypoints exit non-zero with its message (README "Rotate the master key"). Cheap at any
 * size: a loose index scan per sealed table, and counts only for versions that are missing.
 */
export async function assertKeyCustody(
  db: Queryable,
  box: Pick<SecretBox, 'open' | 'seal' | 'keyVersions' | 'hasKeyVersion' | 'currentKeyVersion'>,
  log: Pick<Logger, 'info'>,
  options: { generatedKeys?: boolean; fingerprinter?: Pick<Fingerprinter, 'hasVersion' | 'versions' | 'currentVersion'> } = {},
): Promise<void> {
  const inUse = new Set<number>();
  for (const kind of SEAL_KINDS) for (const v of await versionsInUse(db, kind)) inUse.add(v);
  const missing = [...inUse].filter((v) => !box.hasKeyVersion(v)).sort((a, b) => a - b);
  if (missing.length > 0) {
    const counts = describeCounts(await countsUnder(db, missing));
    throw new KeyCustodyError(
      `KEYPLANE_MASTER_KEYS lacks key version(s) ${missing.join(', ')}, which records in the database are sealed under (${counts}). ` +
        'Add the missing version(s) to the keyring of every API and worker (or rewrap those records first with a process that has them), then start again.',
    );
  }
  const checks = await checkKeyVersions(db, box);
  const wrong = [...checks.entries()].filter(([, r]) => r === 'WRONG_KEY').map(([v]) => v);
  if (wrong.length > 0) {
    const hint = options.generatedKeys
      ? ' KEYPLANE_MASTER_KEYS is not set, so a development key was generated into the local secrets file; a generated key only serves a database with no sealed records. Restore the file or set the keyring.'
      : '';
    throw new KeyCustodyError(
      `KEYPLANE_MASTER_KEYS: the key given for version(s) ${wrong.join(', ')} is not the key this database was sealed with (its check value does not open). Refusing to start.${hint}`,
    );
  }
  const pepperInUse = options.fingerprinter ? await assertPepperVersions(db, options.fingerprinter) : undefined;
  log.info(
    {
      ...(options.fingerprinter ? { pepperVersions: options.fingerprinter.versions(), pepperVersionsInUse: pepperInUse } : {}),
      kekVersions: box.keyVersions(),
      currentKekVersion: box.currentKeyVersion,
      kekVersionsInUse: [...inUse].sort((a, b) => a - b),
    },
    'key custody checked',
  );
}

/**
 * Every fingerprint pepper version stored fingerprints use must be in KEYPLANE_FINGERPRINT_KEY:
 * without it a new key could not be compared with them, and duplicates would go unseen.
 */
async function assertPepperVersions(db: Queryable, fingerprinter: Pick<Fingerprinter, 'hasVersion'>): Promise<number[]> {
  const inUse = await pepperVersionsInUse(db);
  const missing = inUse.filter((v) => !fingerprinter.hasVersion(v));
  if (missing.length > 0) {
    const counts = await pepperCounts(db, missing);
    const described = missing
      .map(
        (v) =>
          `version ${v}: ${counts
            .filter((c) => c.pepperVersion === v)
            .map((c) => `${c.table} ${c.count}`)
            .join(', ')}`,
      )
      .join('; ');
    throw new KeyCustodyError(
      `KEYPLANE_FINGERPRINT_KEY lacks pepper version(s) ${missing.join(', ')}, which stored fingerprints use (${described}). ` +
        'Add the missing version(s) to the pepper ring of every API and worker (or finish a pepper rekey with a process that has the current one), then start again.',
    );
  }
  return inUse;
}
