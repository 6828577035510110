import type { EntityManager } from 'typeorm';
import { Fingerprinter, redactSecret, SEALS, SecretBox } from '../../crypto';
import { CredentialVersionEntity, type VersionState } from './credential.entity';

export interface KeyMaterialDeps {
  box: SecretBox;
  fingerprinter: Fingerprinter;
}

/** A version's sealed material and hints: the columns that hold (or are derived from) the key. */
export interface SealedVersion {
  kekVersion: number;
  wrappedKey: Buffer;
  ciphertext: Buffer;
  fingerprint: Buffer;
  redactedKey: string;
}

/** Seals one key version (bound to tenant, credential and version). The plaintext goes no further. */
export function sealVersion(
  deps: KeyMaterialDeps,
  row: { tenantId: string; credentialId: string; version: number; keyPrefixes: string[] },
  secret: string,
): SealedVersion {
  const sealed = deps.box.seal(secret, SEALS.credentialVersion.context({ tenantId: row.tenantId, objectId: row.credentialId, version: row.version }));
  return {
    kekVersion: sealed.kekVersion,
    wrappedKey: sealed.wrappedKey,
    ciphertext: sealed.ciphertext,
    fingerprint: deps.fingerprinter.fingerprint(secret),
    redactedKey: redactSecret(secret, row.keyPrefixes),
  };
}

/** Seals one key version and inserts it. */
export async function insertVersionInTx(
  tx: EntityManager,
  deps: KeyMaterialDeps,
  row: { tenantId: string; credentialId: string; version: number; state: VersionState; keyPrefixes: string[] },
  secret: string,
): Promise<CredentialVersionEntity> {
  const entity = tx.create(CredentialVersionEntity, {
    tenantId: row.tenantId,
    credentialId: row.credentialId,
    version: row.version,
    state: row.state,
    ...sealVersion(deps, row, secret),
  });
  await tx.insert(CredentialVersionEntity, entity);
  return entity;
}

/** Crypto-shreds key material: the row stays for history, nothing decryptable or matchable is left. */
export async function wipeMaterialInTx(
  tx: EntityManager,
  tenantId: string,
  where: { credentialId?: string; versionState?: VersionState },
  newState: VersionState,
): Promise<number> {
  const result = await tx.query(
    `UPDATE credential_versions
        SET state = $4, kek_version = NULL, wrapped_key = NULL, ciphertext = NULL, fingerprint = NULL,
            retired_at = COALESCE(retired_at, now())
      WHERE tenant_id = $1
        AND ($2::uuid IS NULL OR credential_id = $2::uuid)
        AND ($3::text IS NULL OR state = $3::text)
        AND (ciphertext IS NOT NULL OR state <> $4)`,
    [tenantId, where.credentialId ?? null, where.versionState ?? null, newState],
  );
  return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
}
