import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook receivers respected: a gateway's webhook and a tenant's notification webhook can be
 * disabled (410 Gone, or WEBHOOK_DISABLE_AFTER_FAILURES dead deliveries in a row), with a counter
 * of deliveries dead in a row; a delivery can be HELD while its endpoint is disabled; and the
 * tenant is told through webhook_endpoint_alerts. Existing endpoints start enabled at 0.
 * down() turns HELD deliveries into DEAD ones (replayable, as before) so the old check holds.
 */
export class WebhookEndpointHealth1795900100000 implements MigrationInterface {
  name = 'WebhookEndpointHealth1795900100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "gateways" ADD "webhook_disabled_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "webhook_disabled_reason" text`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "webhook_consecutive_failures" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(
      `ALTER TABLE "gateways" ADD CONSTRAINT "ck_gateways_webhook_disabled_reason" CHECK ("webhook_disabled_reason" IN ('GONE', 'CONSECUTIVE_FAILURES'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateways" ADD CONSTRAINT "ck_gateways_webhook_disabled" CHECK (("webhook_disabled_at" IS NULL) = ("webhook_disabled_reason" IS NULL))`,
    );

    await queryRunner.query(`ALTER TABLE "tenants" ADD "notification_webhook_disabled_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "notification_webhook_disabled_reason" text`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "notification_webhook_consecutive_failures" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(
      `ALTER TABLE "tenants" ADD CONSTRAINT "ck_tenants_notification_webhook_disabled_reason" CHECK ("notification_webhook_disabled_reason" IN ('GONE', 'CONSECUTIVE_FAILURES'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "tenants" ADD CONSTRAINT "ck_tenants_notification_webhook_disabled" CHECK (("notification_webhook_disabled_at" IS NULL) = ("notification_webhook_disabled_reason" IS NULL))`,
    );

    await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "ck_webhook_deliveries_status"`);
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "ck_webhook_deliveries_status" CHECK ("status" IN ('PENDING', 'DELIVERED', 'RETRYING', 'DEAD', 'HELD'))`,
    );

    await queryRunner.query(
      `CREATE TABLE "webhook_endpoint_alerts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "endpoint" text NOT NULL, "gateway_id" uuid, "reason" text NOT NULL, "status" text NOT NULL, "last_status_code" integer, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "resolved_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "ck_webhook_endpoint_alerts_gateway" CHECK (("endpoint" = 'GATEWAY_WEBHOOK') = ("gateway_id" IS NOT NULL)), CONSTRAINT "ck_webhook_endpoint_alerts_status" CHECK ("status" IN ('OPEN', 'RESOLVED')), CONSTRAINT "ck_webhook_endpoint_alerts_reason" CHECK ("reason" IN ('GONE', 'CONSECUTIVE_FAILURES')), CONSTRAINT "ck_webhook_endpoint_alerts_endpoint" CHECK ("endpoint" IN ('GATEWAY_WEBHOOK', 'TENANT_NOTIFICATIONS')), CONSTRAINT "PK_2a499980190a0425dc6bb2020fb" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_webhook_endpoint_alerts_gateway" ON "webhook_endpoint_alerts" ("gateway_id")`);
    await queryRunner.query(
      `CREATE INDEX "ix_webhook_endpoint_alerts_tenant_created" ON "webhook_endpoint_alerts" ("tenant_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_endpoint_alerts" ADD CONSTRAINT "fk_webhook_endpoint_alerts_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_endpoint_alerts" ADD CONSTRAINT "fk_webhook_endpoint_alerts_gateway" FOREIGN KEY ("gateway_id") REFERENCES "gateways"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_endpoint_alerts" DROP CONSTRAINT "fk_webhook_endpoint_alerts_gateway"`);
    await queryRunner.query(`ALTER TABLE "webhook_endpoint_alerts" DROP CONSTRAINT "fk_webhook_endpoint_alerts_tenant"`);
    await queryRunner.query(`DROP INDEX "public"."ix_webhook_endpoint_alerts_tenant_created"`);
    await queryRunner.query(`DROP INDEX "public"."ix_webhook_endpoint_alerts_gateway"`);
    await queryRunner.query(`DROP TABLE "webhook_endpoint_alerts"`);

    await queryRunner.query(`UPDATE "webhook_deliveries" SET "status" = 'DEAD', "dead_at" = COALESCE("dead_at", now()) WHERE "status" = 'HELD'`);
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "ck_webhook_deliveries_status"`);
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "ck_webhook_deliveries_status" CHECK ("status" IN ('PENDING', 'DELIVERED', 'RETRYING', 'DEAD'))`,
    );

    await queryRunner.query(`ALTER TABLE "tenants" DROP CONSTRAINT "ck_tenants_notification_webhook_disabled"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP CONSTRAINT "ck_tenants_notification_webhook_disabled_reason"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "notification_webhook_consecutive_failures"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "notification_webhook_disabled_reason"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "notification_webhook_disabled_at"`);

    await queryRunner.query(`ALTER TABLE "gateways" DROP CONSTRAINT "ck_gateways_webhook_disabled"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP CONSTRAINT "ck_gateways_webhook_disabled_reason"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP COLUMN "webhook_consecutive_failures"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP COLUMN "webhook_disabled_reason"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP COLUMN "webhook_disabled_at"`);
  }
}
