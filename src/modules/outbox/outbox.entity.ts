import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Work for the queue, written in the same transaction as the change it follows, so no job can
 * point at a rolled-back row and nothing is lost while Redis is down. Payloads are ids only.
 */
@Entity({ name: 'outbox' })
@Index('ix_outbox_unsent', ['id'], { where: '"sent_at" IS NULL' })
export class OutboxEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column('uuid', { name: 'tenant_id', nullable: true }) tenantId!: string | null;
  @Column('text') queue!: string;
  @Column('text', { name: 'job_name' }) jobName!: string;
  @Column('text', { name: 'job_id' }) jobId!: string;
  @Column('jsonb') payload!: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'sent_at', nullable: true }) sentAt!: Date | null;
  @Column('int', { default: 0 }) attempts!: number;
  @Column('text', { name: 'last_error', nullable: true }) lastError!: string | null;
  /** The queuing request's W3C traceparent when tracing is on (ids only; src/tracing). */
  @Column('text', { name: 'trace_parent', nullable: true }) traceParent!: string | null;
}
