import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { ProviderEntity } from '../provider/provider.entity';
import { TenantEntity } from '../tenant/tenant.entity';
import type { KeyTestOutcome } from '../../providers/types';

export const CREDENTIAL_KINDS = ['API_KEY', 'OAUTH_TOKEN'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];
/** UNREADABLE: its stored key no longer opens (tampered, moved); only a rotation brings it back. */
export const CREDENTIAL_STATUSES = ['PENDING_VALIDATION', 'ACTIVE', 'INVALID', 'REVOKED', 'UNREADABLE'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];
export const VERSION_STATES = ['PENDING', 'ACTIVE', 'PREVIOUS', 'RETIRED', 'REJECTED', 'REVOKED'] as const;
export type VersionState = (typeof VERSION_STATES)[number];

/** Credential metadata. Key material lives only in credential_versions. */
@Entity({ name: 'credentials' })
@Index('ix_credentials_tenant_created', ['tenantId', 'createdAt', 'id'])
@Index('uq_credentials_tenant_provider_label', ['tenantId', 'providerId', 'label'], {
  unique: true,
  where: '"revoked_at" IS NULL',
})
@Index('ix_credentials_rotate_by', ['rotateBy'], { where: '"revoked_at" IS NULL' })
// Tenants holding live keys of a provider (host change audit) and revoked keys per provider (gateway reasons).
@Index('ix_credentials_provider_live', ['providerId', 'tenantId'], { where: '"revoked_at" IS NULL' })
@Index('ix_credentials_tenant_provider_revoked', ['tenantId', 'providerId'], { where: '"revoked_at" IS NOT NULL' })
@Check('ck_credentials_kind', `"kind" IN ('API_KEY', 'OAUTH_TOKEN')`)
@Check('ck_credentials_status', `"status" IN ('PENDING_VALIDATION', 'ACTIVE', 'INVALID', 'REVOKED', 'UNREADABLE')`)
@Check('ck_credentials_rotation_period_days', `"rotation_period_days" BETWEEN 1 AND 3650`)
export class CredentialEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @Column('uuid', { name: 'provider_id' }) providerId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_credentials_tenant' })
  tenant?: TenantEntity;
  @ManyToOne(() => ProviderEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'fk_credentials_provider' })
  provider?: ProviderEntity;
  @Column('text') label!: string;
  @Column('text') kind!: CredentialKind;
  @Column('text') status!: CredentialStatus;
  /** The version gateways use; null until a first version has been accepted. */
  @Column('int', { name: 'current_version', nullable: true }) currentVersion!: number | null;
  @Column('int', { name: 'latest_version', default: 1 }) latestVersion!: number;
  @Column('text', { name: 'redacted_key' }) redactedKey!: string;
  @Column('int', { name: 'rotation_period_days', nullable: true }) rotationPeriodDays!: number | null;
  @Column('timestamptz', { name: 'rotate_by' }) rotateBy!: Date;
  @Column('text', { name: 'last_validation_outcome', nullable: true }) lastValidationOutcome!: KeyTestOutcome | null;
  @Column('timestamptz', { name: 'last_validated_at', nullable: true }) lastValidatedAt!: Date | null;
  @Column('text', { name: 'last_validation_models', array: true, nullable: true })
  lastValidationModels!: string[] | null;
  @Column('text', { name: 'last_validation_message', nullable: true }) lastValidationMessage!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'rotated_at', nullable: true }) rotatedAt!: Date | null;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}

/**
 * One stored key version. The ciphertext is bound (AAD) to tenant, credential and version, so a
 * row copied elsewhere does not decrypt. Material columns are nulled when a key is revoked.
 */
@Entity({ name: 'credential_versions' })
@Index('uq_credential_versions_version', ['credentialId', 'version'], { unique: true })
@Index('ix_credential_versions_tenant', ['tenantId'])
// Key custody: distinct KEK versions by loose index scan, rows per version (migration 1795900300000).
@Index('ix_credential_versions_kek_version', ['kekVersion'], { where: '"kek_version" IS NOT NULL' })
@Index('ix_credential_versions_fingerprint', ['fingerprint'], { where: '"fingerprint" IS NOT NULL' })
// The duplicate-key match reads only validated keys (issue 14).
@Index('ix_credential_versions_validated_fingerprint', ['fingerprint'], { where: '"fingerprint" IS NOT NULL AND "validated_at" IS NOT NULL' })
// Pepper rotation: distinct pepper versions by loose index scan, rows left to rekey (migration 1795930100000).
@Index('ix_credential_versions_pepper_version', ['pepperVersion'], { where: '"fingerprint" IS NOT NULL' })
// The reconciler's scan of versions never checked (migration 1796010100000): a few rows among millions.
@Index('ix_credential_versions_unchecked', ['createdAt'], { where: `"state" = 'PENDING' AND "last_validated_at" IS NULL` })
@Check('ck_credential_versions_state', `"state" IN ('PENDING', 'ACTIVE', 'PREVIOUS', 'RETIRED', 'REJECTED', 'REVOKED')`)
export class CredentialVersionEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @Column('uuid', { name: 'credential_id' }) credentialId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_credential_versions_tenant' })
  tenant?: TenantEntity;
  @ManyToOne(() => CredentialEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'credential_id', foreignKeyConstraintName: 'fk_credential_versions_credential' })
  credential?: CredentialEntity;
  @Column('int') version!: number;
  @Column('text') state!: VersionState;
  @Column('int', { name: 'kek_version', nullable: true }) kekVersion!: number | null;
  @Column('bytea', { name: 'wrapped_key', nullable: true }) wrappedKey!: Buffer | null;
  @Column('bytea', { nullable: true }) ciphertext!: Buffer | null;
  @Column('bytea', { nullable: true }) fingerprint!: Buffer | null;
  /** The fingerprint pepper version the fingerprint was computed under (KEYPLANE_FINGERPRINT_KEY). */
  @Column('int', { name: 'pepper_version', default: 1 }) pepperVersion!: number;
  @Column('text', { name: 'redacted_key' }) redactedKey!: string;
  /** Keyed reference to this version's key for audit events (src/crypto auditKeyRef); kept when the material is destroyed. */
  @Column('text', { name: 'key_ref', nullable: true }) keyRef!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'activated_at', nullable: true }) activatedAt!: Date | null;
  @Column('timestamptz', { name: 'retired_at', nullable: true }) retiredAt!: Date | null;
  /** First check that found this key working. Only validated keys take part in duplicate detection. */
  @Column('timestamptz', { name: 'validated_at', nullable: true }) validatedAt!: Date | null;
  /** For a PREVIOUS version: gateways keep getting it (after the new one) until then. */
  @Column('timestamptz', { name: 'retire_after', nullable: true }) retireAfter!: Date | null;
  /**
   * This version's own last check. The credential's last_validation_* show only its serving
   * version's (or, before any version serves, its newest's), so a late result for another version
   * stays here and never changes what the credential shows.
   */
  @Column('text', { name: 'last_validation_outcome', nullable: true }) lastValidationOutcome!: KeyTestOutcome | null;
  @Column('timestamptz', { name: 'last_validated_at', nullable: true }) lastValidatedAt!: Date | null;
  @Column('text', { name: 'last_validation_models', array: true, nullable: true })
  lastValidationModels!: string[] | null;
  @Column('text', { name: 'last_validation_message', nullable: true }) lastValidationMessage!: string | null;
}
