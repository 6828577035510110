import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { WebhookDisabledReason } from '../webhook/endpoint';

export const BYOK_MODES = ['PLATFORM', 'BYOK', 'HYBRID'] as const;
export type ByokMode = (typeof BYOK_MODES)[number];

@Entity({ name: 'tenants' })
@Index('uq_tenants_slug', ['slug'], { unique: true })
@Index('ix_tenants_notification_kek_version', ['notificationKekVersion'], { where: '"notification_kek_version" IS NOT NULL' })
@Index('ix_tenants_previous_notification_kek_version', ['previousNotificationKekVersion'], {
  where: '"previous_notification_kek_version" IS NOT NULL',
})
@Check('ck_tenants_byok_mode', `"byok_mode" IN ('PLATFORM', 'BYOK', 'HYBRID')`)
@Check('ck_tenants_rotation_policy_days', `"rotation_policy_days" BETWEEN 1 AND 3650`)
@Check('ck_tenants_notification_webhook_disabled_reason', `"notification_webhook_disabled_reason" IN ('GONE', 'CONSECUTIVE_FAILURES')`)
@Check('ck_tenants_notification_webhook_disabled', `("notification_webhook_disabled_at" IS NULL) = ("notification_webhook_disabled_reason" IS NULL)`)
export class TenantEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') slug!: string;
  @Column('text', { name: 'byok_mode', default: 'BYOK' }) byokMode!: ByokMode;
  @Column('int', { name: 'rotation_policy_days', default: 90 }) rotationPolicyDays!: number;
  /** Where rotation reminders and other tenant notifications are POSTed, signed like gateway webhooks. */
  @Column('text', { name: 'notification_webhook_url', nullable: true }) notificationWebhookUrl!: string | null;
  @Column('int', { name: 'notification_kek_version', nullable: true }) notificationKekVersion!: number | null;
  @Column('bytea', { name: 'notification_wrapped_key', nullable: true }) notificationWrappedKey!: Buffer | null;
  @Column('bytea', { name: 'notification_ciphertext', nullable: true }) notificationCiphertext!: Buffer | null;
  /** The secret a rotation replaced, sealed too: notifications carry both signatures until previous_notification_expires_at. */
  @Column('int', { name: 'previous_notification_kek_version', nullable: true }) previousNotificationKekVersion!: number | null;
  @Column('bytea', { name: 'previous_notification_wrapped_key', nullable: true }) previousNotificationWrappedKey!: Buffer | null;
  @Column('bytea', { name: 'previous_notification_ciphertext', nullable: true }) previousNotificationCiphertext!: Buffer | null;
  @Column('timestamptz', { name: 'previous_notification_expires_at', nullable: true }) previousNotificationExpiresAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  /** Set when the receiver answered 410 or too many deliveries died in a row; messages are HELD until re-enabled. */
  @Column('timestamptz', { name: 'notification_webhook_disabled_at', nullable: true }) notificationWebhookDisabledAt!: Date | null;
  @Column('text', { name: 'notification_webhook_disabled_reason', nullable: true })
  notificationWebhookDisabledReason!: WebhookDisabledReason | null;
  /** Deliveries dead in a row since the last one delivered (or the last re-enable). */
  @Column('int', { name: 'notification_webhook_consecutive_failures', default: 0 }) notificationWebhookConsecutiveFailures!: number;
}
