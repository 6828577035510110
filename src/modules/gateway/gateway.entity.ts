import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { CredentialEntity } from '../credential/credential.entity';
import { ProviderEntity } from '../provider/provider.entity';
import { TenantEntity } from '../tenant/tenant.entity';
import type { WebhookDisabledReason } from '../webhook/endpoint';

export const CREDENTIAL_MODES = ['USER_PROVIDED', 'BUNDLED', 'HYBRID'] as const;
export type CredentialMode = (typeof CREDENTIAL_MODES)[number];

@Entity({ name: 'gateways' })
@Index('uq_gateways_tenant_slug', ['tenantId', 'slug'], { unique: true })
@Index('uq_gateways_key_hash', ['keyHash'], { unique: true })
@Index('ix_gateways_tenant_created', ['tenantId', 'createdAt', 'id'])
@Index('ix_gateways_signing_kek_version', ['signingKekVersion'], { where: '"signing_kek_version" IS NOT NULL' })
@Index('ix_gateways_previous_signing_kek_version', ['previousSigningKekVersion'], { where: '"previous_signing_kek_version" IS NOT NULL' })
@Index('ix_gateways_previous_key_hash', ['previousKeyHash'], { where: '"previous_key_hash" IS NOT NULL' })
@Check('ck_gateways_credential_mode', `"credential_mode" IN ('USER_PROVIDED', 'BUNDLED', 'HYBRID')`)
@Check('ck_gateways_webhook_disabled_reason', `"webhook_disabled_reason" IN ('GONE', 'CONSECUTIVE_FAILURES')`)
@Check('ck_gateways_webhook_disabled', `("webhook_disabled_at" IS NULL) = ("webhook_disabled_reason" IS NULL)`)
export class GatewayEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_gateways_tenant' })
  tenant?: TenantEntity;
  @Column('text') name!: string;
  @Column('text') slug!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('text', { name: 'credential_mode', default: 'USER_PROVIDED' }) credentialMode!: CredentialMode;
  @Column('text', { name: 'webhook_url', nullable: true }) webhookUrl!: string | null;
  /** SHA-256 of the gateway's own key; the key itself is shown once. */
  @Column('bytea', { name: 'key_hash' }) keyHash!: Buffer;
  @Column('text', { name: 'redacted_key' }) redactedKey!: string;
  /** Webhook signing secret, sealed like a provider key (it must be usable to sign). */
  @Column('int', { name: 'signing_kek_version' }) signingKekVersion!: number;
  @Column('bytea', { name: 'signing_wrapped_key' }) signingWrappedKey!: Buffer;
  @Column('bytea', { name: 'signing_ciphertext' }) signingCiphertext!: Buffer;
  /** The secret a rotation replaced, sealed too: deliveries carry both signatures until previous_signing_expires_at. */
  @Column('int', { name: 'previous_signing_kek_version', nullable: true }) previousSigningKekVersion!: number | null;
  @Column('bytea', { name: 'previous_signing_wrapped_key', nullable: true }) previousSigningWrappedKey!: Buffer | null;
  @Column('bytea', { name: 'previous_signing_ciphertext', nullable: true }) previousSigningCiphertext!: Buffer | null;
  @Column('timestamptz', { name: 'previous_signing_expires_at', nullable: true }) previousSigningExpiresAt!: Date | null;
  /** The key a rotation replaced (its hash): still pulls config until previous_key_expires_at (graceHours). */
  @Column('bytea', { name: 'previous_key_hash', nullable: true }) previousKeyHash!: Buffer | null;
  @Column('timestamptz', { name: 'previous_key_expires_at', nullable: true }) previousKeyExpiresAt!: Date | null;
  @Column('int', { name: 'config_version', default: 1 }) configVersion!: number;
  /** When config_version last changed: drift is measured from here. */
  @Column('timestamptz', { name: 'config_changed_at', default: () => 'now()' }) configChangedAt!: Date;
  /** The version the gateway last pulled, and when (null: never pulled). */
  @Column('int', { name: 'pulled_config_version', nullable: true }) pulledConfigVersion!: number | null;
  @Column('timestamptz', { name: 'pulled_at', nullable: true }) pulledAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'key_rotated_at', nullable: true }) keyRotatedAt!: Date | null;
  /** Set when the receiver answered 410 or too many deliveries died in a row; nothing is sent until re-enabled. */
  @Column('timestamptz', { name: 'webhook_disabled_at', nullable: true }) webhookDisabledAt!: Date | null;
  @Column('text', { name: 'webhook_disabled_reason', nullable: true }) webhookDisabledReason!: WebhookDisabledReason | null;
  /** Deliveries dead in a row since the last one delivered (or the last re-enable). */
  @Column('int', { name: 'webhook_consecutive_failures', default: 0 }) webhookConsecutiveFailures!: number;
}

@Entity({ name: 'gateway_credentials' })
@Index('ix_gateway_credentials_gateway_provider', ['gatewayId', 'providerId', 'priority'])
@Index('ix_gateway_credentials_credential', ['credentialId'])
@Index('ix_gateway_credentials_tenant', ['tenantId'])
export class GatewayCredentialEntity {
  @PrimaryColumn('uuid', { name: 'gateway_id' }) gatewayId!: string;
  @PrimaryColumn('uuid', { name: 'credential_id' }) credentialId!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @Column('uuid', { name: 'provider_id' }) providerId!: string;
  @ManyToOne(() => GatewayEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'gateway_id', foreignKeyConstraintName: 'fk_gateway_credentials_gateway' })
  gateway?: GatewayEntity;
  @ManyToOne(() => CredentialEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'credential_id', foreignKeyConstraintName: 'fk_gateway_credentials_credential' })
  credential?: CredentialEntity;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_gateway_credentials_tenant' })
  tenant?: TenantEntity;
  @ManyToOne(() => ProviderEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'fk_gateway_credentials_provider' })
  provider?: ProviderEntity;
  @Column('int') priority!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** A per-provider override of the gateway's credential mode. */
@Entity({ name: 'gateway_provider_modes' })
@Check('ck_gateway_provider_modes_mode', `"credential_mode" IN ('USER_PROVIDED', 'BUNDLED', 'HYBRID')`)
export class GatewayProviderModeEntity {
  @PrimaryColumn('uuid', { name: 'gateway_id' }) gatewayId!: string;
  @PrimaryColumn('uuid', { name: 'provider_id' }) providerId!: string;
  @ManyToOne(() => GatewayEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'gateway_id', foreignKeyConstraintName: 'fk_gateway_provider_modes_gateway' })
  gateway?: GatewayEntity;
  @ManyToOne(() => ProviderEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'fk_gateway_provider_modes_provider' })
  provider?: ProviderEntity;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @Column('text', { name: 'credential_mode' }) credentialMode!: CredentialMode;
}
