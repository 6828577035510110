import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deployment-wide gauges (queue depth, outbox lag) are exported by one process at a time: the one
 * holding this lease, renewed at each of its scrapes (src/queue/gauge-lease.ts). One row per queue
 * namespace (QUEUE_PREFIX). Holders are process ids of the form host:pid:random, nothing secret.
 */
export class MetricsLease1796080100000 implements MigrationInterface {
  name = 'MetricsLease1796080100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "metrics_leases" ("name" text PRIMARY KEY, "holder" text NOT NULL, "expires_at" timestamptz NOT NULL)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "metrics_leases"`);
  }
}
