import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { TenantEntity } from '../tenant/tenant.entity';

export const WEBHOOK_KINDS = ['GATEWAY_RELOAD', 'ROTATION_REMINDER'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];
/** HELD: not sent because its endpoint is disabled; re-enabling the endpoint sends it (nothing is lost). */
export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'RETRYING', 'DEAD', 'HELD'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** UNREACHABLE covers every cause of "no answer" (blocked, unknown name, refused, reset, timeout, TLS) on purpose. */
export const ERROR_CLASSES = ['UNREACHABLE', 'HTTP_4XX', 'HTTP_5XX', 'REDIRECT', 'INVALID_URL', 'NO_URL'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/**
 * One webhook message (Standard Webhooks: webhook-id = id). The body is rebuilt from `payload`
 * (ids, versions, reasons: never a key) on every attempt; a replay reuses the same id.
 */
@Entity({ name: 'webhook_deliveries' })
@Index('ix_webhook_deliveries_tenant_created', ['tenantId', 'createdAt', 'id'])
@Index('ix_webhook_deliveries_target', ['targetId', 'createdAt'])
@Index('uq_webhook_deliveries_dedupe', ['dedupeKey'], { unique: true })
// The reconciler's scan of deliveries still to send (migration 1796010100000): a few rows among millions.
@Index('ix_webhook_deliveries_open', ['updatedAt'], { where: `"status" IN ('PENDING', 'RETRYING')` })
@Check('ck_webhook_deliveries_kind', `"kind" IN ('GATEWAY_RELOAD', 'ROTATION_REMINDER')`)
@Check('ck_webhook_deliveries_status', `"status" IN ('PENDING', 'DELIVERED', 'RETRYING', 'DEAD', 'HELD')`)
export class WebhookDeliveryEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_webhook_deliveries_tenant' })
  tenant?: TenantEntity;
  @Column('text') kind!: WebhookKind;
  /** The gateway (GATEWAY_RELOAD) or the reminder (ROTATION_REMINDER) the message is about. */
  @Column('uuid', { name: 'target_id' }) targetId!: string;
  /** Keeps one message per logical event, e.g. gateway + config version. */
  @Column('text', { name: 'dedupe_key' }) dedupeKey!: string;
  @Column('jsonb') payload!: Record<string, unknown>;
  @Column('text') status!: DeliveryStatus;
  @Column('int', { default: 0 }) attempts!: number;
  @Column('int', { name: 'last_status_code', nullable: true }) lastStatusCode!: number | null;
  @Column('text', { name: 'last_error_class', nullable: true }) lastErrorClass!: ErrorClass | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'delivered_at', nullable: true }) deliveredAt!: Date | null;
  @Column('timestamptz', { name: 'dead_at', nullable: true }) deadAt!: Date | null;
  @Column('int', { name: 'replay_count', default: 0 }) replayCount!: number;
}

/** Every attempt, for the settings page and ops: status, latency and a coarse error class only. */
@Entity({ name: 'webhook_attempts' })
@Index('ix_webhook_attempts_delivery', ['deliveryId', 'attempt'])
export class WebhookAttemptEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @Column('uuid', { name: 'delivery_id' }) deliveryId!: string;
  @ManyToOne(() => WebhookDeliveryEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'delivery_id', foreignKeyConstraintName: 'fk_webhook_attempts_delivery' })
  delivery?: WebhookDeliveryEntity;
  @Column('int') attempt!: number;
  @Column('int', { name: 'status_code', nullable: true }) statusCode!: number | null;
  @Column('int', { name: 'latency_ms' }) latencyMs!: number;
  @Column('text', { name: 'error_class', nullable: true }) errorClass!: ErrorClass | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
