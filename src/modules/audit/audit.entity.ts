import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const ACTOR_TYPES = ['PLATFORM_ADMIN', 'API_TOKEN', 'SYSTEM'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** Append-only (enforced by triggers) and hash-chained. Details hold redacted hints and ids, never key material. */
// No foreign key to tenants on purpose: the audit trail outlives the objects it describes.
@Entity({ name: 'audit_events' })
@Index('ix_audit_events_tenant_created', ['tenantId', 'createdAt', 'id'])
@Index('ix_audit_events_created', ['createdAt', 'id'])
// GIN over details->'keyRefs' (migration 1796040000000): an expression index TypeORM cannot describe.
@Index('ix_audit_events_key_refs', { synchronize: false })
@Index('uq_audit_events_tenant_seq', ['tenantId', 'seq'], { unique: true, where: '"tenant_id" IS NOT NULL' })
@Index('uq_audit_events_platform_seq', ['seq'], { unique: true, where: '"tenant_id" IS NULL' })
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'tenant_id', nullable: true }) tenantId!: string | null;
  @Column('text', { name: 'actor_type' }) actorType!: ActorType;
  @Column('text', { name: 'actor_id', nullable: true }) actorId!: string | null;
  @Column('text') action!: string;
  @Column('text', { name: 'target_type' }) targetType!: string;
  @Column('text', { name: 'target_id', nullable: true }) targetId!: string | null;
  @Column('jsonb', { default: () => "'{}'" }) details!: Record<string, unknown>;
  @Column('text', { name: 'request_id', nullable: true }) requestId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  // Set by the database (trigger audit_events_chain, migration 1795960000000) whatever the insert
  // says: position in the tenant's (or the platform's) chain, and the chain hashes (hex).
  @Column('bigint') seq!: string;
  @Column('text', { name: 'prev_hash' }) prevHash!: string;
  @Column('text') hash!: string;
}
