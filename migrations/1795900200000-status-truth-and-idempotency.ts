import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 10 item 4, "status that tells the truth; safe retries".
 *
 * - Each key version keeps the result of its own last check (credential_versions.last_*): the
 *   credential's own fields now only ever show its serving version's. Existing versions start
 *   empty: which version the credential's stored result came from was never recorded, and the
 *   daily re-check fills them.
 * - credential_check_alerts: a check that gave up after its last retry (the provider stayed rate
 *   limited or unavailable) raises one alert per credential version, for its tenant.
 * - idempotency_keys: what createCredential, rotateCredential and rotateGatewayKey answered for a
 *   tenant's idempotency key, for 24 hours. The key and the request are stored as keyed hashes
 *   (HMAC under the fingerprint pepper); the answer holds ids and hints, never a secret.
 */
export class StatusTruthAndIdempotency1795900200000 implements MigrationInterface {
  name = 'StatusTruthAndIdempotency1795900200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "last_validation_outcome" text`);
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "last_validated_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "last_validation_models" text array`);
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "last_validation_message" text`);

    await queryRunner.query(
      `CREATE TABLE "credential_check_alerts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "credential_id" uuid NOT NULL, "version" integer NOT NULL, "kind" text NOT NULL, "outcome" text NOT NULL, "status" text NOT NULL, "occurrences" integer NOT NULL DEFAULT '1', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "resolved_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "ck_credential_check_alerts_kind" CHECK ("kind" IN ('CHECK_EXHAUSTED')), CONSTRAINT "ck_credential_check_alerts_status" CHECK ("status" IN ('OPEN', 'RESOLVED')), CONSTRAINT "pk_credential_check_alerts" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_credential_check_alerts_version" ON "credential_check_alerts" ("credential_id", "version", "kind")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_credential_check_alerts_tenant_created" ON "credential_check_alerts" ("tenant_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `ALTER TABLE "credential_check_alerts" ADD CONSTRAINT "fk_credential_check_alerts_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "credential_check_alerts" ADD CONSTRAINT "fk_credential_check_alerts_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );

    await queryRunner.query(
      `CREATE TABLE "idempotency_keys" ("tenant_id" uuid NOT NULL, "key_hash" bytea NOT NULL, "operation" text NOT NULL, "request_hash" bytea, "target_id" uuid, "response" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "ck_idempotency_keys_operation" CHECK ("operation" IN ('CREATE_CREDENTIAL', 'ROTATE_CREDENTIAL', 'ROTATE_GATEWAY_KEY')), CONSTRAINT "pk_idempotency_keys" PRIMARY KEY ("tenant_id", "key_hash"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_idempotency_keys_expires" ON "idempotency_keys" ("expires_at")`);
    await queryRunner.query(`CREATE INDEX "ix_idempotency_keys_target" ON "idempotency_keys" ("tenant_id", "target_id")`);
    await queryRunner.query(
      `ALTER TABLE "idempotency_keys" ADD CONSTRAINT "fk_idempotency_keys_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "idempotency_keys" DROP CONSTRAINT "fk_idempotency_keys_tenant"`);
    await queryRunner.query(`DROP INDEX "public"."ix_idempotency_keys_target"`);
    await queryRunner.query(`DROP INDEX "public"."ix_idempotency_keys_expires"`);
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
    await queryRunner.query(`ALTER TABLE "credential_check_alerts" DROP CONSTRAINT "fk_credential_check_alerts_credential"`);
    await queryRunner.query(`ALTER TABLE "credential_check_alerts" DROP CONSTRAINT "fk_credential_check_alerts_tenant"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credential_check_alerts_tenant_created"`);
    await queryRunner.query(`DROP INDEX "public"."uq_credential_check_alerts_version"`);
    await queryRunner.query(`DROP TABLE "credential_check_alerts"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "last_validation_message"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "last_validation_models"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "last_validated_at"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "last_validation_outcome"`);
  }
}
