import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { GatewayEntity } from '../gateway/gateway.entity';
import { TenantEntity } from '../tenant/tenant.entity';
import type { WebhookDisabledReason, WebhookEndpoint } from '../webhook/endpoint';

export const ENDPOINT_ALERT_STATUSES = ['OPEN', 'RESOLVED'] as const;
export type EndpointAlertStatus = (typeof ENDPOINT_ALERT_STATUSES)[number];

/**
 * "Keyplane stopped sending to this webhook endpoint", for the tenant that owns it. Raised by the
 * worker in the transaction that disables the endpoint; resolved when an admin re-enables it.
 * Ids, a reason and times only: never the URL's secret or the receiver's answer.
 */
@Entity({ name: 'webhook_endpoint_alerts' })
@Index('ix_webhook_endpoint_alerts_tenant_created', ['tenantId', 'createdAt', 'id'])
@Index('ix_webhook_endpoint_alerts_gateway', ['gatewayId'])
@Check('ck_webhook_endpoint_alerts_endpoint', `"endpoint" IN ('GATEWAY_WEBHOOK', 'TENANT_NOTIFICATIONS')`)
@Check('ck_webhook_endpoint_alerts_reason', `"reason" IN ('GONE', 'CONSECUTIVE_FAILURES')`)
@Check('ck_webhook_endpoint_alerts_status', `"status" IN ('OPEN', 'RESOLVED')`)
@Check('ck_webhook_endpoint_alerts_gateway', `("endpoint" = 'GATEWAY_WEBHOOK') = ("gateway_id" IS NOT NULL)`)
export class WebhookEndpointAlertEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_webhook_endpoint_alerts_tenant' })
  tenant?: TenantEntity;
  @Column('text') endpoint!: WebhookEndpoint;
  /** The gateway, for GATEWAY_WEBHOOK; null for the tenant's notification webhook. */
  @Column('uuid', { name: 'gateway_id', nullable: true }) gatewayId!: string | null;
  @ManyToOne(() => GatewayEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'gateway_id', foreignKeyConstraintName: 'fk_webhook_endpoint_alerts_gateway' })
  gateway?: GatewayEntity;
  @Column('text') reason!: WebhookDisabledReason;
  @Column('text') status!: EndpointAlertStatus;
  /** HTTP status of the answer that disabled it (410), or of the last failed delivery; null when none arrived. */
  @Column('int', { name: 'last_status_code', nullable: true }) lastStatusCode!: number | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'resolved_at', nullable: true }) resolvedAt!: Date | null;
}
