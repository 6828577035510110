import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tracing (docs/observability.md): the W3C traceparent of the request that queued a job, so the
 * relay and the worker continue its trace. Random ids only (trace id, span id, flags), never
 * shown to tenants; NULL when tracing is off. Adding a nullable column without a default is a
 * catalogue change only: no table rewrite.
 */
export class OutboxTraceParent1796080000000 implements MigrationInterface {
  name = 'OutboxTraceParent1796080000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbox" ADD "trace_parent" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbox" DROP COLUMN "trace_parent"`);
  }
}
