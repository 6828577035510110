import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which provider host each tenant agreed to send its keys to (src/modules/provider/host-confirmation.entity.ts).
 * Existing keys were stored while their provider had its current base URL: that is the host their
 * tenant sent them to, so it is recorded as confirmed. Changes notify the gateway config caches;
 * inserts do not: a row is inserted with a tenant's first key of a provider, which no gateway uses
 * yet, and NOTIFY would serialise every credential insert's commit.
 */
export class ProviderHostConfirmations1795800500000 implements MigrationInterface {
  name = 'ProviderHostConfirmations1795800500000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "provider_host_confirmations" ("tenant_id" uuid NOT NULL, "provider_id" uuid NOT NULL, "base_url" text NOT NULL, "confirmed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "pk_provider_host_confirmations" PRIMARY KEY ("tenant_id", "provider_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_provider_host_confirmations_provider" ON "provider_host_confirmations" ("provider_id")`);
    await queryRunner.query(
      `ALTER TABLE "provider_host_confirmations" ADD CONSTRAINT "fk_provider_host_confirmations_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "provider_host_confirmations" ADD CONSTRAINT "fk_provider_host_confirmations_provider" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(`
      INSERT INTO "provider_host_confirmations" ("tenant_id", "provider_id", "base_url")
      SELECT DISTINCT c."tenant_id", c."provider_id", p."base_url" FROM "credentials" c JOIN "providers" p ON p."id" = c."provider_id"`);
    await queryRunner.query(`CREATE INDEX "ix_credentials_provider_live" ON "credentials" ("provider_id", "tenant_id") WHERE "revoked_at" IS NULL`);
    await queryRunner.query(
      `CREATE INDEX "ix_credentials_tenant_provider_revoked" ON "credentials" ("tenant_id", "provider_id") WHERE "revoked_at" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "tr_invalidate_host_confirmations" AFTER UPDATE OR DELETE ON "provider_host_confirmations" FOR EACH ROW EXECUTE FUNCTION keyplane_invalidate('owned')`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "tr_invalidate_truncate" AFTER TRUNCATE ON "provider_host_confirmations" FOR EACH STATEMENT EXECUTE FUNCTION keyplane_invalidate('platform')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "tr_invalidate_truncate" ON "provider_host_confirmations"`);
    await queryRunner.query(`DROP TRIGGER "tr_invalidate_host_confirmations" ON "provider_host_confirmations"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credentials_tenant_provider_revoked"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credentials_provider_live"`);
    await queryRunner.query(`ALTER TABLE "provider_host_confirmations" DROP CONSTRAINT "fk_provider_host_confirmations_provider"`);
    await queryRunner.query(`ALTER TABLE "provider_host_confirmations" DROP CONSTRAINT "fk_provider_host_confirmations_tenant"`);
    await queryRunner.query(`DROP INDEX "public"."ix_provider_host_confirmations_provider"`);
    await queryRunner.query(`DROP TABLE "provider_host_confirmations"`);
  }
}
