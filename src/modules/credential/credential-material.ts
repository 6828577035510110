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
  /** The pepper version of `fingerprint`: always the current one for a new key. */
  pepperVersion: number;
  redactedKey: string;
  /** Keyed reference for audit events (never the key or its fingerprint). */
  keyRef: string;
}

/** Seals one key version (bound to tenant, credential and version). The plaintext goes no further. */
export async function sealVersion(
  deps: KeyMaterialDeps,
  row: { tenantId: string; credentialId: string; version: number; keyPrefixes: string[] },
  secret: string,
): Promise<SealedVersion> {
  const sealed = await deps.box.seal(
    secret,
    SEALS.credentialVersion.context({ tenantId: row.tenantId, objectId: row.credentialId, version: row.version }),
  );
  const fingerprint = deps.fingerprinter.fingerprint(secret);
  return {
    kekVersion: sealed.kekVersion,
    wrappedKey: sealed.wrappedKey,
    ciphertext: sealed.ciphertext,
    fingerprint,
    keyRef: deps.fingerprinter.auditKeyRef(row.tenantId, fingerprint),
    pepperVersion: deps.fingerprinter.currentVersion,
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
    ...(await sealVersion(deps, row, secret)),
  });
  await tx.insert(CredentialVersionEntity, entity);
  return entity;
}
