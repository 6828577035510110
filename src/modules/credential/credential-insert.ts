import { randomUUID } from 'node:crypto';
import { firstOf, GroupCommit } from '../../db/group-commit';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditActor } from '../auth/actor';
import { OUTBOX_COLUMNS, outboxParams, outboxRowsFrom, type OutboxJob } from '../outbox/outbox.writer';
import { currentTraceparent } from '../../tracing/spans';
import { sealVersion, type KeyMaterialDeps, type SealedVersion } from './credential-material';
import { CredentialEntity, type CredentialKind } from './credential.entity';

/**
 * New credentials in ONE statement, so one round trip and one (implicit) transaction: each
 * credential, its first version, its queued check and its audit event commit or fail together,
 * with every other credential of the statement. The rotation period defaults to the tenant's
 * policy, read in the same statement; every other insert reads from `credential`, so a tenant that
 * does not exist writes nothing for that credential. rotate_by counts whole 24-hour days from now().
 * One row per element of the array parameters: the text is the same for one credential or many.
 */
const INSERT_CREDENTIALS = `
WITH x AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[],
                       $8::int[], $9::bytea[], $10::bytea[], $11::bytea[], $12::text[], $13::text[], $14::jsonb[], $15::text[], $16::text[])
    WITH ORDINALITY AS x(id, tenant_id, provider_id, label, kind, redacted_key, rotation_period_days,
                         kek_version, wrapped_key, ciphertext, fingerprint, actor_type, actor_id, details, request_id, base_url, n)
), credential AS (
  INSERT INTO credentials
    (id, tenant_id, provider_id, label, kind, status, latest_version, redacted_key, rotation_period_days, rotate_by)
  SELECT x.id, t.id, x.provider_id, x.label, x.kind, 'PENDING_VALIDATION', 1, x.redacted_key, x.rotation_period_days,
         now() + COALESCE(x.rotation_period_days, t.rotation_policy_days) * interval '24 hours'
    FROM x JOIN tenants t ON t.id = x.tenant_id
   ORDER BY x.n
  RETURNING *
), version AS (
  INSERT INTO credential_versions
    (tenant_id, credential_id, version, state, kek_version, wrapped_key, ciphertext, fingerprint, pepper_version, redacted_key, key_ref)
  SELECT c.tenant_id, c.id, 1, 'PENDING', x.kek_version, x.wrapped_key, x.ciphertext, x.fingerprint, p.pepper_version, c.redacted_key, p.key_ref
    FROM credential c JOIN x ON x.id = c.id
    JOIN unnest($17::int[], $18::text[]) WITH ORDINALITY AS p(pepper_version, key_ref, n) ON p.n = x.n
), host AS (
  -- A tenant's first key of a provider goes to the host it saw; later keys join whatever it confirmed.
  INSERT INTO provider_host_confirmations (tenant_id, provider_id, base_url)
  SELECT DISTINCT ON (c.tenant_id, c.provider_id) c.tenant_id, c.provider_id, x.base_url
    FROM credential c JOIN x ON x.id = c.id
  ON CONFLICT (tenant_id, provider_id) DO NOTHING
), audit AS (
  INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target_type, target_id, details, request_id)
  SELECT c.tenant_id, x.actor_type, x.actor_id, 'CREDENTIAL_CREATED', 'CREDENTIAL', c.id::text, x.details, x.request_id
    FROM credential c JOIN x ON x.id = c.id
   -- Tenant order: each row locks its tenant's audit chain head (docs/audit.md), and two statements
   -- taking the same chains in the same order queue instead of deadlocking.
   ORDER BY c.tenant_id, x.n
), outbox AS (
  INSERT INTO outbox (${OUTBOX_COLUMNS})
  SELECT ${OUTBOX_COLUMNS} FROM ${outboxRowsFrom(19)}
   WHERE EXISTS (SELECT 1 FROM credential c WHERE c.id = (job.payload->>'credentialId')::uuid AND c.tenant_id = job.tenant_id)
   ORDER BY job.n
)
SELECT * FROM credential`;

/** Credentials per statement: bounds its size and the time the first request of a batch waits. */
const MAX_BATCH = 64;

export interface NewCredential {
  tenantId: string;
  /** baseUrl: the host the tenant saw when it sent the key (confirmed if it is its first of the provider). */
  provider: { id: string; slug: string; keyPrefixes: string[]; baseUrl: string };
  label: string;
  kind: CredentialKind;
  /** null: the tenant's rotation policy applies. */
  rotationPeriodDays: number | null;
  /** The normalized key; sealed here and never written in clear. */
  secret: string;
}

/** A credential ready to insert: sealed, its audit details and jobs decided. No plaintext. */
interface Prepared {
  id: string;
  input: Omit<NewCredential, 'secret'>;
  actor: AuditActor;
  sealed: SealedVersion;
  details: string;
  jobs: OutboxJob[];
  resolve(row: CredentialEntity | null): void;
  reject(error: unknown): void;
}

/**
 * Inserts credentials with version 1 PENDING, their validation jobs and their audit
 * events, as a group commit (GroupCommit): concurrent requests share a statement, so one commit
 * (one WAL flush) covers many. Each caller gets its own stored row
 * (DB-generated timestamps included), or null when its tenant is gone. If a statement fails (one
 * label taken, say), each of its credentials is tried alone, so each caller gets its own answer
 * and nobody's credential is lost to another's error.
 */
export class CredentialInserter {
  private readonly commits = new GroupCommit<Prepared>((batch) => this.insertBatch(batch), firstOf(MAX_BATCH));

  constructor(
    private readonly db: DataSource,
    private readonly deps: KeyMaterialDeps,
  ) {}

  async insert(actor: AuditActor, input: NewCredential): Promise<CredentialEntity | null> {
    const prepared = await this.prepare(actor, input);
    return new Promise((resolve, reject) => this.commits.add({ ...prepared, resolve, reject }));
  }

  /**
   * The same statement for one credential, alone, in the caller's transaction (an idempotent
   * create claims its key first, in that transaction): no group commit.
   */
  async insertInTx(tx: EntityManager, actor: AuditActor, input: NewCredential): Promise<CredentialEntity | null> {
    const item = { ...(await this.prepare(actor, input)), resolve: () => undefined, reject: () => undefined };
    return (await this.write([item], tx)).get(item.id) ?? null;
  }

  private async prepare(actor: AuditActor, input: NewCredential): Promise<Omit<Prepared, 'resolve' | 'reject'>> {
    const { secret, ...rest } = input;
    const id = randomUUID();
    const sealed = await sealVersion(
      this.deps,
      { tenantId: input.tenantId, credentialId: id, version: 1, keyPrefixes: input.provider.keyPrefixes },
      secret,
    );
    const payload = { tenantId: input.tenantId, credentialId: id, version: 1 };
    // No duplicate check yet: the validation worker queues it once the key has validated.
    // The trace is this request's, though another request's statement may write the row.
    const jobs: OutboxJob[] = [{ name: 'validate-credential', payload, traceparent: currentTraceparent() }];
    // The same audit row auditInTx writes; details carry the redacted hint and the keyed reference only.
    const details = JSON.stringify({
      provider: input.provider.slug,
      label: input.label,
      kind: input.kind,
      redactedKey: sealed.redactedKey,
      keyRefs: [{ ref: sealed.keyRef, version: 1 }],
    });
    return { id, input: rest, actor, sealed, details, jobs };
  }

  private async insertBatch(batch: Prepared[]): Promise<void> {
    try {
      this.settle(batch, await this.write(batch));
    } catch (error) {
      if (batch.length === 1) batch[0].reject(error);
      else await Promise.all(batch.map((item) => this.write([item]).then((rows) => this.settle([item], rows), item.reject)));
    }
  }

  private async write(batch: Prepared[], tx: Pick<EntityManager, 'query'> = this.db): Promise<Map<string, CredentialEntity>> {
    const rows: Record<string, unknown>[] = await tx.query(INSERT_CREDENTIALS, [
      batch.map((b) => b.id),
      batch.map((b) => b.input.tenantId),
      batch.map((b) => b.input.provider.id),
      batch.map((b) => b.input.label),
      batch.map((b) => b.input.kind),
      batch.map((b) => b.sealed.redactedKey),
      batch.map((b) => b.input.rotationPeriodDays),
      batch.map((b) => b.sealed.kekVersion),
      batch.map((b) => b.sealed.wrappedKey),
      batch.map((b) => b.sealed.ciphertext),
      batch.map((b) => b.sealed.fingerprint),
      batch.map((b) => b.actor.type),
      batch.map((b) => b.actor.id),
      batch.map((b) => b.details),
      batch.map((b) => b.actor.requestId),
      batch.map((b) => b.input.provider.baseUrl),
      batch.map((b) => b.sealed.pepperVersion),
      batch.map((b) => b.sealed.keyRef),
      ...outboxParams(batch.flatMap((b) => b.jobs)),
    ]);
    return new Map(rows.map((row) => [row.id as string, hydrate(this.db, row)]));
  }

  private settle(batch: Prepared[], rows: Map<string, CredentialEntity>): void {
    for (const item of batch) item.resolve(rows.get(item.id) ?? null);
  }
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
