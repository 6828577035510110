import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TenantEntity } from '../tenant/tenant.entity';

export const TENANT_ROLES = ['ADMIN', 'VIEWER'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

@Entity({ name: 'api_tokens' })
@Index('uq_api_tokens_token_hash', ['tokenHash'], { unique: true })
@Index('ix_api_tokens_tenant_created', ['tenantId', 'createdAt', 'id'])
@Check('ck_api_tokens_role', `"role" IN ('ADMIN', 'VIEWER')`)
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id' }) tenantId!: string;
  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'fk_api_tokens_tenant' })
  tenant?: TenantEntity;
  @Column('text') name!: string;
  @Column('text') role!: TenantRole;
  /** SHA-256 of the token; the token itself is shown once. */
  @Column('bytea', { name: 'token_hash' }) tokenHash!: Buffer;
  @Column('text', { name: 'redacted_token' }) redactedToken!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'last_used_at', nullable: true }) lastUsedAt!: Date | null;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}
