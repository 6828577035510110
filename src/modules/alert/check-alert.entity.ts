import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { KeyTestOutcome } from '../../providers/types';
import { CredentialEntity } from '../credential/credential.entity';
import { TenantEntity } from '../tenant/tenant.entity';

export const CHECK_ALERT_KINDS = ['CHECK_EXHAUSTED'] as const;
export type CheckAlertKind = (typeof CHECK_ALERT_KINDS)[number];
export const CHECK_ALERT_STATUSES = ['OPEN', 'RESOLVED'] as const;
export type CheckAlertStatus = (typeof CHECK_ALERT_STATUSES)[number];

/**
 * "We could not check this key": its validation gave up after its last retry because the provider
 * stayed rate limited or unavailable. One row per credential version and kind: a repeat only moves
 * last_seen_at and occurrences (and reopens a resolved one). A later decisive check resolves it.
 */
@Entity({ name: 'credential_check_alerts' })
@Index('uq_credential_check_alerts_version', ['credentialId', 'version', 'kind'], { unique: true })
@Index('ix_credential_check_alerts_tenant_created', ['tenantId', 'createdAt', 'id'])
@Check('ck_credential_check_alerts_kind', `"kind" IN ('CHECK_EXHAUSTED')`)
@Check('ck_credential_check_alerts_status', `"status" IN ('OPEN', 'RESOLVED')`)
export class CredentialCheckAlertEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_credential_check_alerts' }) id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_credential_check_alerts_tenant' })
  tenant?: TenantEntity;
  @Column('uuid', { name: 'credential_id' }) credentialId!: string;
  @ManyToOne(() => CredentialEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'credential_id', foreignKeyConstraintName: 'fk_credential_check_alerts_credential' })
  credential?: CredentialEntity;
  @Column('int') version!: number;
  @Column('text') kind!: CheckAlertKind;
  /** The last outcome before the check gave up: RATE_LIMITED or PROVIDER_UNAVAILABLE. */
  @Column('text') outcome!: KeyTestOutcome;
  @Column('text') status!: CheckAlertStatus;
  @Column('int', { default: 1 }) occurrences!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'last_seen_at', default: () => 'now()' }) lastSeenAt!: Date;
  @Column('timestamptz', { name: 'resolved_at', nullable: true }) resolvedAt!: Date | null;
}
