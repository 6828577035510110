import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TenantEntity } from '../tenant/tenant.entity';

export const IDEMPOTENT_OPERATIONS = ['CREATE_CREDENTIAL', 'ROTATE_CREDENTIAL', 'ROTATE_GATEWAY_KEY'] as const;
export type IdempotentOperation = (typeof IDEMPOTENT_OPERATIONS)[number];

/**
 * What a key-material mutation answered for one of its tenant's idempotency keys (README:
 * Idempotency keys). Neither the key nor the request is stored as sent: both are keyed hashes
 * (HMAC under the fingerprint pepper), and the request hash is erased when the credential it
 * created is revoked. `response` holds the answer's ids and hints, never a secret.
 */
@Entity({ name: 'idempotency_keys' })
@Index('ix_idempotency_keys_expires', ['expiresAt'])
@Index('ix_idempotency_keys_target', ['tenantId', 'targetId'])
@Check('ck_idempotency_keys_operation', `"operation" IN ('CREATE_CREDENTIAL', 'ROTATE_CREDENTIAL', 'ROTATE_GATEWAY_KEY')`)
export class IdempotencyKeyEntity {
  @PrimaryColumn('uuid', { name: 'tenant_id', primaryKeyConstraintName: 'pk_idempotency_keys' }) tenantId!: string;
  @PrimaryColumn('bytea', { name: 'key_hash', primaryKeyConstraintName: 'pk_idempotency_keys' }) keyHash!: Buffer;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_idempotency_keys_tenant' })
  tenant?: TenantEntity;
  @Column('text') operation!: IdempotentOperation;
  @Column('bytea', { name: 'request_hash', nullable: true }) requestHash!: Buffer | null;
  @Column('uuid', { name: 'target_id', nullable: true }) targetId!: string | null;
  @Column('jsonb', { nullable: true }) response!: unknown;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
}
