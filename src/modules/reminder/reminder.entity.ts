import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { CredentialEntity } from '../credential/credential.entity';
import { TenantEntity } from '../tenant/tenant.entity';

export const REMINDER_THRESHOLDS = ['DAYS_14', 'DAYS_7', 'DAYS_1', 'OVERDUE'] as const;
export type ReminderThreshold = (typeof REMINDER_THRESHOLDS)[number];

/** One reminder per credential version per threshold: the unique index makes sweeps idempotent. */
@Entity({ name: 'rotation_reminders' })
@Index('uq_rotation_reminders_once', ['credentialId', 'credentialVersion', 'threshold'], { unique: true })
@Index('ix_rotation_reminders_tenant_created', ['tenantId', 'createdAt', 'id'])
@Check('ck_rotation_reminders_threshold', `"threshold" IN ('DAYS_14', 'DAYS_7', 'DAYS_1', 'OVERDUE')`)
export class RotationReminderEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_rotation_reminders_tenant' })
  tenant?: TenantEntity;
  @Column('uuid', { name: 'credential_id' }) credentialId!: string;
  @ManyToOne(() => CredentialEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'credential_id', foreignKeyConstraintName: 'fk_rotation_reminders_credential' })
  credential?: CredentialEntity;
  @Column('int', { name: 'credential_version' }) credentialVersion!: number;
  @Column('text') threshold!: ReminderThreshold;
  @Column('timestamptz', { name: 'rotate_by' }) rotateBy!: Date;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  /** The webhook delivery that carried it, when the tenant has a notification webhook. */
  @Column('uuid', { name: 'delivery_id', nullable: true }) deliveryId!: string | null;
}
