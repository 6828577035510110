import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1795623232554 implements MigrationInterface {
  name = 'InitialSchema1795623232554';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid, "actor_type" text NOT NULL, "actor_id" text, "action" text NOT NULL, "target_type" text NOT NULL, "target_id" text, "details" jsonb NOT NULL DEFAULT '{}', "request_id" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_audit_events_tenant_created" ON "audit_events"  ("tenant_id", "created_at", "id") `);
    await queryRunner.query(
      `CREATE TABLE "providers" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "slug" text NOT NULL, "name" text NOT NULL, "base_url" text NOT NULL, "auth_scheme" text NOT NULL, "api_shape" text NOT NULL, "key_prefixes" text array NOT NULL DEFAULT '{}', "key_pattern" text NOT NULL, "built_in" boolean NOT NULL DEFAULT false, "enabled" boolean NOT NULL DEFAULT true, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "ck_providers_api_shape" CHECK ("api_shape" IN ('OPENAI', 'ANTHROPIC', 'GEMINI', 'OPENROUTER')), CONSTRAINT "ck_providers_auth_scheme" CHECK ("auth_scheme" IN ('BEARER', 'X_API_KEY', 'X_GOOG_API_KEY')), CONSTRAINT "PK_af13fc2ebf382fe0dad2e4793aa" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_providers_slug" ON "providers"  ("slug") `);
    await queryRunner.query(
      `CREATE TABLE "tenants" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "slug" text NOT NULL, "byok_mode" text NOT NULL DEFAULT 'BYOK', "rotation_policy_days" integer NOT NULL DEFAULT '90', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "ck_tenants_rotation_policy_days" CHECK ("rotation_policy_days" BETWEEN 1 AND 3650), CONSTRAINT "ck_tenants_byok_mode" CHECK ("byok_mode" IN ('PLATFORM', 'BYOK', 'HYBRID')), CONSTRAINT "PK_53be67a04681c66b87ee27c9321" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_tenants_slug" ON "tenants"  ("slug") `);
    await queryRunner.query(
      `CREATE TABLE "credentials" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "provider_id" uuid NOT NULL, "label" text NOT NULL, "kind" text NOT NULL, "status" text NOT NULL, "current_version" integer, "latest_version" integer NOT NULL DEFAULT '1', "redacted_key" text NOT NULL, "rotation_period_days" integer, "rotate_by" TIMESTAMP WITH TIME ZONE NOT NULL, "last_validation_outcome" text, "last_validated_at" TIMESTAMP WITH TIME ZONE, "last_validation_models" text array, "last_validation_message" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "rotated_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "ck_credentials_rotation_period_days" CHECK ("rotation_period_days" BETWEEN 1 AND 3650), CONSTRAINT "ck_credentials_status" CHECK ("status" IN ('PENDING_VALIDATION', 'ACTIVE', 'INVALID', 'REVOKED')), CONSTRAINT "ck_credentials_kind" CHECK ("kind" IN ('API_KEY', 'OAUTH_TOKEN')), CONSTRAINT "PK_1e38bc43be6697cdda548ad27a6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_credentials_rotate_by" ON "credentials"  ("rotate_by") WHERE "revoked_at" IS NULL`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_credentials_tenant_provider_label" ON "credentials"  ("tenant_id", "provider_id", "label") WHERE "revoked_at" IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX "ix_credentials_tenant_created" ON "credentials"  ("tenant_id", "created_at", "id") `);
    await queryRunner.query(
      `CREATE TABLE "credential_versions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "credential_id" uuid NOT NULL, "version" integer NOT NULL, "state" text NOT NULL, "kek_version" integer, "wrapped_key" bytea, "ciphertext" bytea, "fingerprint" bytea, "redacted_key" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "activated_at" TIMESTAMP WITH TIME ZONE, "retired_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "ck_credential_versions_state" CHECK ("state" IN ('PENDING', 'ACTIVE', 'PREVIOUS', 'RETIRED', 'REJECTED', 'REVOKED')), CONSTRAINT "PK_043316e51edc6dbb84234b3ca53" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_credential_versions_fingerprint" ON "credential_versions"  ("fingerprint") WHERE "fingerprint" IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "ix_credential_versions_tenant" ON "credential_versions"  ("tenant_id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_credential_versions_version" ON "credential_versions"  ("credential_id", "version") `);
    await queryRunner.query(
      `CREATE TABLE "gateways" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "name" text NOT NULL, "slug" text NOT NULL, "description" text, "credential_mode" text NOT NULL DEFAULT 'USER_PROVIDED', "webhook_url" text, "key_hash" bytea NOT NULL, "redacted_key" text NOT NULL, "signing_kek_version" integer NOT NULL, "signing_wrapped_key" bytea NOT NULL, "signing_ciphertext" bytea NOT NULL, "config_version" integer NOT NULL DEFAULT '1', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "key_rotated_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "ck_gateways_credential_mode" CHECK ("credential_mode" IN ('USER_PROVIDED', 'BUNDLED', 'HYBRID')), CONSTRAINT "PK_b53153080a6907017cf44cb7f58" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_gateways_tenant_created" ON "gateways"  ("tenant_id", "created_at", "id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_gateways_key_hash" ON "gateways"  ("key_hash") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_gateways_tenant_slug" ON "gateways"  ("tenant_id", "slug") `);
    await queryRunner.query(
      `CREATE TABLE "gateway_credentials" ("gateway_id" uuid NOT NULL, "credential_id" uuid NOT NULL, "tenant_id" uuid NOT NULL, "provider_id" uuid NOT NULL, "priority" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_e05643d6677f131649963b1763c" PRIMARY KEY ("gateway_id", "credential_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_gateway_credentials_tenant" ON "gateway_credentials"  ("tenant_id") `);
    await queryRunner.query(`CREATE INDEX "ix_gateway_credentials_credential" ON "gateway_credentials"  ("credential_id") `);
    await queryRunner.query(
      `CREATE INDEX "ix_gateway_credentials_gateway_provider" ON "gateway_credentials"  ("gateway_id", "provider_id", "priority") `,
    );
    await queryRunner.query(
      `CREATE TABLE "outbox" ("id" BIGSERIAL NOT NULL, "tenant_id" uuid, "queue" text NOT NULL, "job_name" text NOT NULL, "job_id" text NOT NULL, "payload" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "sent_at" TIMESTAMP WITH TIME ZONE, "attempts" integer NOT NULL DEFAULT '0', "last_error" text, CONSTRAINT "PK_340ab539f309f03bdaa14aa7649" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_outbox_unsent" ON "outbox"  ("id") WHERE "sent_at" IS NULL`);
    await queryRunner.query(
      `CREATE TABLE "api_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "name" text NOT NULL, "role" text NOT NULL, "token_hash" bytea NOT NULL, "redacted_token" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "ck_api_tokens_role" CHECK ("role" IN ('ADMIN', 'VIEWER')), CONSTRAINT "PK_c587455266b5fa8dace7194caac" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_api_tokens_tenant_created" ON "api_tokens"  ("tenant_id", "created_at", "id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_api_tokens_token_hash" ON "api_tokens"  ("token_hash") `);
    await queryRunner.query(
      `ALTER TABLE "credentials" ADD CONSTRAINT "fk_credentials_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "credentials" ADD CONSTRAINT "fk_credentials_provider" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "credential_versions" ADD CONSTRAINT "fk_credential_versions_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "credential_versions" ADD CONSTRAINT "fk_credential_versions_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateways" ADD CONSTRAINT "fk_gateways_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateway_credentials" ADD CONSTRAINT "fk_gateway_credentials_gateway" FOREIGN KEY ("gateway_id") REFERENCES "gateways"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateway_credentials" ADD CONSTRAINT "fk_gateway_credentials_credential" FOREIGN KEY ("credential_id") REFERENCES "credentials"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateway_credentials" ADD CONSTRAINT "fk_gateway_credentials_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "gateway_credentials" ADD CONSTRAINT "fk_gateway_credentials_provider" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "api_tokens" ADD CONSTRAINT "fk_api_tokens_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "api_tokens" DROP CONSTRAINT "fk_api_tokens_tenant"`);
    await queryRunner.query(`ALTER TABLE "gateway_credentials" DROP CONSTRAINT "fk_gateway_credentials_provider"`);
    await queryRunner.query(`ALTER TABLE "gateway_credentials" DROP CONSTRAINT "fk_gateway_credentials_tenant"`);
    await queryRunner.query(`ALTER TABLE "gateway_credentials" DROP CONSTRAINT "fk_gateway_credentials_credential"`);
    await queryRunner.query(`ALTER TABLE "gateway_credentials" DROP CONSTRAINT "fk_gateway_credentials_gateway"`);
    await queryRunner.query(`ALTER TABLE "gateways" DROP CONSTRAINT "fk_gateways_tenant"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP CONSTRAINT "fk_credential_versions_credential"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP CONSTRAINT "fk_credential_versions_tenant"`);
    await queryRunner.query(`ALTER TABLE "credentials" DROP CONSTRAINT "fk_credentials_provider"`);
    await queryRunner.query(`ALTER TABLE "credentials" DROP CONSTRAINT "fk_credentials_tenant"`);
    await queryRunner.query(`DROP INDEX "public"."uq_api_tokens_token_hash"`);
    await queryRunner.query(`DROP INDEX "public"."ix_api_tokens_tenant_created"`);
    await queryRunner.query(`DROP TABLE "api_tokens"`);
    await queryRunner.query(`DROP INDEX "public"."ix_outbox_unsent"`);
    await queryRunner.query(`DROP TABLE "outbox"`);
    await queryRunner.query(`DROP INDEX "public"."ix_gateway_credentials_gateway_provider"`);
    await queryRunner.query(`DROP INDEX "public"."ix_gateway_credentials_credential"`);
    await queryRunner.query(`DROP INDEX "public"."ix_gateway_credentials_tenant"`);
    await queryRunner.query(`DROP TABLE "gateway_credentials"`);
    await queryRunner.query(`DROP INDEX "public"."uq_gateways_tenant_slug"`);
    await queryRunner.query(`DROP INDEX "public"."uq_gateways_key_hash"`);
    await queryRunner.query(`DROP INDEX "public"."ix_gateways_tenant_created"`);
    await queryRunner.query(`DROP TABLE "gateways"`);
    await queryRunner.query(`DROP INDEX "public"."uq_credential_versions_version"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credential_versions_tenant"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credential_versions_fingerprint"`);
    await queryRunner.query(`DROP TABLE "credential_versions"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credentials_tenant_created"`);
    await queryRunner.query(`DROP INDEX "public"."uq_credentials_tenant_provider_label"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credentials_rotate_by"`);
    await queryRunner.query(`DROP TABLE "credentials"`);
    await queryRunner.query(`DROP INDEX "public"."uq_tenants_slug"`);
    await queryRunner.query(`DROP TABLE "tenants"`);
    await queryRunner.query(`DROP INDEX "public"."uq_providers_slug"`);
    await queryRunner.query(`DROP TABLE "providers"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_tenant_created"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
