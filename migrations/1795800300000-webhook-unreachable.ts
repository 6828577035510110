import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook error classes TIMEOUT, CONNECTION and BLOCKED_ADDRESS become one, UNREACHABLE: the
 * distinction told tenants which names resolve to internal addresses. Stored history is rewritten
 * too, or old rows would keep answering that question (and the GraphQL enum no longer has them).
 * down() cannot recover the old causes; it writes CONNECTION, which the previous code reads.
 */
export class WebhookUnreachable1795800300000 implements MigrationInterface {
  name = 'WebhookUnreachable1795800300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "webhook_deliveries" SET "last_error_class" = 'UNREACHABLE' WHERE "last_error_class" IN ('TIMEOUT', 'CONNECTION', 'BLOCKED_ADDRESS')`,
    );
    await queryRunner.query(
      `UPDATE "webhook_attempts" SET "error_class" = 'UNREACHABLE' WHERE "error_class" IN ('TIMEOUT', 'CONNECTION', 'BLOCKED_ADDRESS')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "webhook_deliveries" SET "last_error_class" = 'CONNECTION' WHERE "last_error_class" = 'UNREACHABLE'`);
    await queryRunner.query(`UPDATE "webhook_attempts" SET "error_class" = 'CONNECTION' WHERE "error_class" = 'UNREACHABLE'`);
  }
}
