import { MigrationInterface, QueryRunner } from 'typeorm';

export class WorkerQueue1795625276597 implements MigrationInterface {
  name = 'WorkerQueue1795625276597';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "key_reuse_alerts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "credential_id" uuid NOT NULL, "fingerprint" bytea NOT NULL, "severity" text NOT NULL, "scope" text NOT NULL, "status" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "status_changed_at" TIMESTAMP WITH TIME ZONE, "status_changed_by" text, "reopen_count" integer NOT NULL DEFAULT '0', CONSTRAINT "ck_key_reuse_alerts_status" CHECK ("status" IN ('OPEN', 'ACKNOWLEDGED', 'DISMISSED', 'RESOLVED')), CONSTRAINT "ck_key_reuse_alerts_scope" CHECK ("scope" IN ('SAME_TENANT', 'OTHER_TENANT')), CONSTRAINT "ck_key_reuse_alerts_severity" CHECK ("severity" IN ('INFO', 'WARNING', 'HIGH')), CONSTRAINT "PK_b4f5d95c3f0af801ca4de4f30c5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_key_reuse_alerts_fingerprint" ON "key_reuse_alerts"  ("fingerprint") `);
    await queryRunner.query(`CREATE INDEX "ix_key_reuse_alerts_tenant_created" ON "key_reuse_alerts"  ("tenant_id", "created_at", "id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_key_reuse_alerts_credential_scope" ON "key_reuse_alerts"  ("credential_id", "scope") `);
    await queryRunner.query(
      `CREATE TABLE "platform_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "provider_id" uuid NOT NULL, "label" text NOT NULL, "priority" integer NOT NULL DEFAULT '0', "kek_version" integer, "wrapped_key" bytea, "ciphertext" bytea, "redacted_key" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_0c77c39be458bdb8a9923f3ef05" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_platform_keys_provider" ON "platform_keys"  ("provider_id", "priority") `);
    await queryRunner.query(
      `CREATE TABLE "rotation_reminders" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "credential_id" uuid NOT NULL, "credential_version" integer NOT NULL, "threshold" text NOT NULL, "rotate_by" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "delivery_id" uuid, CONSTRAINT "ck_rotation_reminders_threshold" CHECK ("threshold" IN ('DAYS_14', 'DAYS_7', 'DAYS_1', 'OVERDUE')), CONSTRAINT "PK_c9d23336b52f0356c4ac4733cde" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_rotation_reminders_tenant_created" ON "rotation_reminders"  ("tenant_id", "created_at", "id") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_rotation_reminders_once" ON "rotation_reminders"  ("credential_id", "credential_version", "threshold") `,
    );
    await queryRunner.query(
      `CREATE TABLE "webhook_deliveries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "kind" text NOT NULL, "target_id" uuid NOT NULL, "dedupe_key" text NOT NULL, "payload" jsonb NOT NULL, "status" text NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "last_status_code" integer, "last_error_class" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "delivered_at" TIMESTAMP WITH TIME ZONE, "dead_at" TIMESTAMP WITH TIME ZONE, "replay_count" integer NOT NULL DEFAULT '0', CONSTRAINT "ck_webhook_deliveries_status" CHECK ("status" IN ('PENDING', 'DELIVERED', 'RETRYING', 'DEAD')), CONSTRAINT "ck_webhook_deliveries_kind" CHECK ("kind" IN ('GATEWAY_RELOAD', 'ROTATION_REMINDER')), CONSTRAINT "PK_535dd409947fb6d8fc6dfc0112a" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_webhook_deliveries_dedupe" ON "webhook_deliveries"  ("dedupe_key") `);
    await queryRunner.query(`CREATE INDEX "ix_webhook_deliveries_target" ON "webhook_deliveries"  ("target_id", "created_at") `);
    await queryRunner.query(`CREATE INDEX "ix_webhook_deliveries_tenant_created" ON "webhook_deliveries"  ("tenant_id", "created_at", "id") `);
    await queryRunner.query(
      `CREATE TABLE "webhook_attempts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "delivery_id" uuid NOT NULL, "attempt" integer NOT NULL, "status_code" integer, "latency_ms" integer NOT NULL, "error_class" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_2de7e7887ad97de459adab62638" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_webhook_attempts_delivery" ON "webhook_attempts"  ("delivery_id", "attempt") `);
    await queryRunner.query(
      `CREATE TABLE "gateway_provider_modes" ("gateway_id" uuid NOT NULL, "provider_id" uuid NOT NULL, "tenant_id" uuid NOT NULL, "credential_mode" text NOT NULL, CONSTRAINT "ck_gateway_provider_modes_mode" CHECK ("credential_mode" IN ('USER_PROVIDED', 'BUNDLED', 'HYBRID')), CONSTRAINT "PK_e1453dbf180d92b39ea9b4ccb97" PRIMARY KEY ("gateway_id", "provider_id"))`,
    );
    await queryRunner.query(`ALTER TABLE "tenants" ADD "notification_webhook_url" text`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "notification_kek_version" integer`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "notification_wrapped_key" bytea`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "notification_ciphertext" bytea`);
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "retire_after" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "config_changed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "pulled_config_version" integer`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "pulled_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `ALTER TABLE "key_reuse_alerts" ADD CONSTRAINT "fk_key_reuse_alerts_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "key_reuse_alerts" ADD CONSTRAINT "fk_key_reuse_alerts_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "platform_keys" ADD CONSTRAINT "fk_platform_keys_provider" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "rotation_reminders" ADD CONSTRAINT "fk_rotation_reminders_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "rotation_reminders" ADD CONSTRAINT "fk_rotation_reminders_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "fk_webhook_deliveries_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_attempts" ADD CONSTRAINT "fk_webhook_attempts_delivery" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateway_provider_modes" ADD CONSTRAINT "fk_gateway_provider_modes_gateway" FOREIGN KEY ("gateway_id") REFERENCES "gateways"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateway_provider_modes" ADD CONSTRAINT "fk_gateway_provider_modes_provider" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "gateway_provider_modes" DROP CONSTRAINT "fk_gateway_provider_modes_provider"`);
    await queryRunner.query(`ALTER TABLE "gateway_provider_modes" DROP CONSTRAINT "fk_gateway_provider_modes_gateway"`);
    await queryRunner.query(`ALTER TABLE "webhook_attempts" DROP CONSTRAINT "fk_webhook_attempts_delivery"`);
    await queryRunner.query(`ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "fk_webhook_deliveries_tenant"`);
    await queryRunner.query(`ALTER TABLE "rotation_reminders" DROP CONSTRAINT "fk_rotation_reminders_credential"`);
    await queryRunner.query(`ALTER TABLE "rotation_reminders" DROP CONSTRAINT "fk_rotation_reminders_tenant"`);
    await queryRunner.query(`ALTER TABLE "platform_keys" DROP CONSTRAINT "fk_platform_keys_provider"`);
    await queryRunner.query(`ALTER TABLE "key_reuse_alerts" DROP CONSTRAINT "fk_key_reuse_alerts_credential"`);
    await queryRunner.query(`ALTER TABLE "key_reuse_alerts" DROP CONSTRAINT "fk_key_reuse_alerts_tenant"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP COLUMN "pulled_at"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP COLUMN "pulled_config_version"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP COLUMN "config_changed_at"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "retire_after"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "notification_ciphertext"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "notification_wrapped_key"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "notification_kek_version"`);
    await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "notification_webhook_url"`);
    await queryRunner.query(`DROP TABLE "gateway_provider_modes"`);
    await queryRunner.query(`DROP INDEX "public"."ix_webhook_attempts_delivery"`);
    await queryRunner.query(`DROP TABLE "webhook_attempts"`);
    await queryRunner.query(`DROP INDEX "public"."ix_webhook_deliveries_tenant_created"`);
    await queryRunner.query(`DROP INDEX "public"."ix_webhook_deliveries_target"`);
    await queryRunner.query(`DROP INDEX "public"."uq_webhook_deliveries_dedupe"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP INDEX "public"."uq_rotation_reminders_once"`);
    await queryRunner.query(`DROP INDEX "public"."ix_rotation_reminders_tenant_created"`);
    await queryRunner.query(`DROP TABLE "rotation_reminders"`);
    await queryRunner.query(`DROP INDEX "public"."ix_platform_keys_provider"`);
    await queryRunner.query(`DROP TABLE "platform_keys"`);
    await queryRunner.query(`DROP INDEX "public"."uq_key_reuse_alerts_credential_scope"`);
    await queryRunner.query(`DROP INDEX "public"."ix_key_reuse_alerts_tenant_created"`);
    await queryRunner.query(`DROP INDEX "public"."ix_key_reuse_alerts_fingerprint"`);
    await queryRunner.query(`DROP TABLE "key_reuse_alerts"`);
  }
}
