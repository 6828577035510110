import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { CredentialEntity } from '../credential/credential.entity';
import { TenantEntity } from '../tenant/tenant.entity';

export const ALERT_SEVERITIES = ['INFO', 'WARNING', 'HIGH'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const ALERT_SCOPES = ['SAME_TENANT', 'OTHER_TENANT'] as const;
export type AlertScope = (typeof ALERT_SCOPES)[number];
export const ALERT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'DISMISSED', 'RESOLVED'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * "This key is also registered elsewhere", on one tenant's own credential. It never names the
 * other tenant or credential; the fingerprint (a keyed HMAC) groups alerts for platform admins.
 */
@Entity({ name: 'key_reuse_alerts' })
@Index('uq_key_reuse_alerts_credential_scope', ['credentialId', 'scope'], { unique: true })
@Index('ix_key_reuse_alerts_tenant_created', ['tenantId', 'createdAt', 'id'])
@Index('ix_key_reuse_alerts_fingerprint', ['fingerprint'])
@Index('ix_key_reuse_alerts_pepper_version', ['pepperVersion'])
@Check('ck_key_reuse_alerts_severity', `"severity" IN ('INFO', 'WARNING', 'HIGH')`)
@Check('ck_key_reuse_alerts_scope', `"scope" IN ('SAME_TENANT', 'OTHER_TENANT')`)
@Check('ck_key_reuse_alerts_status', `"status" IN ('OPEN', 'ACKNOWLEDGED', 'DISMISSED', 'RESOLVED')`)
export class KeyReuseAlertEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_key_reuse_alerts_tenant' })
  tenant?: TenantEntity;
  @Column('uuid', { name: 'credential_id' }) credentialId!: string;
  @ManyToOne(() => CredentialEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'credential_id', foreignKeyConstraintName: 'fk_key_reuse_alerts_credential' })
  credential?: CredentialEntity;
  @Column('bytea') fingerprint!: Buffer;
  /** The pepper version of `fingerprint` (it follows the key's rows when they are rekeyed). */
  @Column('int', { name: 'pepper_version', default: 1 }) pepperVersion!: number;
  @Column('text') severity!: AlertSeverity;
  @Column('text') scope!: AlertScope;
  @Column('text') status!: AlertStatus;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'last_seen_at' }) lastSeenAt!: Date;
  @Column('timestamptz', { name: 'status_changed_at', nullable: true }) statusChangedAt!: Date | null;
  @Column('text', { name: 'status_changed_by', nullable: true }) statusChangedBy!: string | null;
  @Column('int', { name: 'reopen_count', default: 0 }) reopenCount!: number;
}
