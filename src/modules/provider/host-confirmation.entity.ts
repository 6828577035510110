import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TenantEntity } from '../tenant/tenant.entity';
import { ProviderEntity } from './provider.entity';

/**
 * The base URL a tenant agreed to send its keys of one provider to. A stored key is sent (checked
 * by a worker, served to a gateway) only while this equals the provider's current base_url: a
 * host change, by upsertProvider or by operator configuration, holds every key until the tenant
 * confirms the new host. No row (never the case for a tenant holding keys) holds too.
 */
@Entity({ name: 'provider_host_confirmations' })
@Index('ix_provider_host_confirmations_provider', ['providerId'])
export class HostConfirmationEntity {
  @PrimaryColumn('uuid', { name: 'tenant_id', primaryKeyConstraintName: 'pk_provider_host_confirmations' }) tenantId!: string;
  @PrimaryColumn('uuid', { name: 'provider_id', primaryKeyConstraintName: 'pk_provider_host_confirmations' }) providerId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_provider_host_confirmations_tenant' })
  tenant?: TenantEntity;
  @ManyToOne(() => ProviderEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'fk_provider_host_confirmations_provider' })
  provider?: ProviderEntity;
  @Column('text', { name: 'base_url' }) baseUrl!: string;
  @Column('timestamptz', { name: 'confirmed_at', default: () => 'now()' }) confirmedAt!: Date;
}
