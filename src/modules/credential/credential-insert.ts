import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AuditActor } from '../auth/actor';
import { OUTBOX_COLUMNS, outboxParams, outboxRowsFrom, type OutboxJob } from '../outbox/outbox.writer';
import { sealVersion, type KeyMaterialDeps } from './credential-material';
import { CredentialEntity, type CredentialKind } from './credential.entity';

/**
 * A new credential in ONE statement, so one round trip and one (implicit) transaction: the
 * credential, its first version, the queued checks and the audit event commit or fail together
 * (a unique violation on the label rolls back every insert). The rotation period defaults to the
 * tenant's policy, read in the same statement; every other insert reads from `credential`, so a
 * tenant that does not exist writes nothing at all. rotate_by counts whole 24-hour days from now().
 */
const INSERT_CREDENTIAL = `
WITH credential AS (
  INSERT INTO credentials
    (id, tenant_id, provider_id, label, kind, status, latest_version, redacted_key, rotation_period_days, rotate_by)
  SELECT $1, t.id, $3, $4, $5, 'PENDING_VALIDATION', 1, $6, $7::int,
         now() + COALESCE($7::int, t.rotation_policy_days) * interval '24 hours'
    FROM tenants t
   WHERE t.id = $2
  RETURNING *
), version AS (
  INSERT INTO credential_versions
    (tenant_id, credential_id, version, state, kek_version, wrapped_key, ciphertext, fingerprint, redacted_key)
  SELECT tenant_id, id, 1, 'PENDING', $8, $9, $10, $11, redacted_key FROM credential
), audit AS (
  INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target_type, target_id, details, request_id)
  SELECT tenant_id, $12, $13, 'CREDENTIAL_CREATED', 'CREDENTIAL', id::text, $14::jsonb, $15 FROM credential
), outbox AS (
  INSERT INTO outbox (${OUTBOX_COLUMNS})
  SELECT ${OUTBOX_COLUMNS} FROM ${outboxRowsFrom(16)}
   WHERE EXISTS (SELECT 1 FROM credential)
   ORDER BY job.n
)
SELECT * FROM credential`;

export interface NewCredential {
  tenantId: string;
  provider: { id: string; slug: string; keyPrefixes: string[] };
  label: string;
  kind: CredentialKind;
  /** null: the tenant's rotation policy applies. */
  rotationPeriodDays: number | null;
  /** The normalized key; sealed here and never written in clear. */
  secret: string;
}

/**
 * Inserts a credential with version 1 PENDING, its validate and fingerprint jobs and its audit
 * event. Returns the stored row (DB-generated timestamps included), or null when the tenant is gone.
 */
export async function insertCredential(
  db: DataSource,
  deps: KeyMaterialDeps,
  actor: AuditActor,
  input: NewCredential,
): Promise<CredentialEntity | null> {
  const { tenantId, provider } = input;
  const id = randomUUID();
  const sealed = sealVersion(deps, { tenantId, credentialId: id, version: 1, keyPrefixes: provider.keyPrefixes }, input.secret);
  const jobs: OutboxJob[] = [
    { name: 'validate-credential', payload: { tenantId, credentialId: id, version: 1 } },
    { name: 'fingerprint-credential', payload: { tenantId, credentialId: id, version: 1 } },
  ];
  // The same audit row auditInTx writes; details carry the redacted hint only.
  const details = { provider: provider.slug, label: input.label, kind: input.kind, redactedKey: sealed.redactedKey };
  const rows: Record<string, unknown>[] = await db.query(INSERT_CREDENTIAL, [
    id, tenantId, provider.id, input.label, input.kind, sealed.redactedKey, input.rotationPeriodDays,
    sealed.kekVersion, sealed.wrappedKey, sealed.ciphertext, sealed.fingerprint,
    actor.type, actor.id, JSON.stringify(details), actor.requestId,
    ...outboxParams(jobs),
  ]);
  return rows[0] ? hydrate(db, rows[0]) : null;
}

/** A RETURNING row (column names) as the entity TypeORM would have loaded (property names, driver types). */
function hydrate(db: DataSource, row: Record<string, unknown>): CredentialEntity {
  const metadata = db.getMetadata(CredentialEntity);
  const entity = metadata.create() as CredentialEntity;
  for (const column of metadata.columns) {
    if (column.databaseName in row) column.setEntityValue(entity, db.driver.prepareHydratedValue(row[column.databaseName], column));
  }
  return entity;
}
