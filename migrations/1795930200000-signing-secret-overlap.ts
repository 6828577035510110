import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signing-secret rotation with overlap, and a grace period for a rotated gateway key (issue 15, item 5).
 *
 * - gateways.previous_signing_* and tenants.previous_notification_*: the secret a rotation replaced,
 *   sealed like the current one (its own seal catalogue kind, so the KEK rewrap covers it), kept
 *   until *_expires_at so deliveries carry both signatures; wiped by the daily sweep after that and
 *   never used past it. Partial indexes on the KEK version columns, as for every sealed table.
 * - gateways.previous_key_hash / previous_key_expires_at: the rotated gateway key still
 *   authenticates config pulls until then (graceHours); NULL when it was revoked at once.
 */
export class SigningSecretOverlap1795930200000 implements MigrationInterface {
  name = 'SigningSecretOverlap1795930200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "gateways" ADD "previous_signing_kek_version" integer`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "previous_signing_wrapped_key" bytea`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "previous_signing_ciphertext" bytea`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "previous_signing_expires_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "previous_key_hash" bytea`);
    await queryRunner.query(`ALTER TABLE "gateways" ADD "previous_key_expires_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "previous_notification_kek_version" integer`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "previous_notification_wrapped_key" bytea`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "previous_notification_ciphertext" bytea`);
    await queryRunner.query(`ALTER TABLE "tenants" ADD "previous_notification_expires_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `CREATE INDEX "ix_gateways_previous_signing_kek_version" ON "gateways" ("previous_signing_kek_version") WHERE "previous_signing_kek_version" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_tenants_previous_notification_kek_version" ON "tenants" ("previous_notification_kek_version") WHERE "previous_notification_kek_version" IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "ix_gateways_previous_key_hash" ON "gateways" ("previous_key_hash") WHERE "previous_key_hash" IS NOT NULL`);
    // Ending a grace period early (a second rotation, the sweep) must drop cached answers for the old key too.
    await queryRunner.query(`DROP TRIGGER "tr_invalidate_gateways" ON "gateways"`);
    await queryRunner.query(
      `CREATE TRIGGER "tr_invalidate_gateways" AFTER UPDATE OF key_hash, previous_key_hash, previous_key_expires_at, credential_mode, config_version, tenant_id OR DELETE ON "gateways" FOR EACH ROW EXECUTE FUNCTION keyplane_invalidate('owned')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "tr_invalidate_gateways" ON "gateways"`);
    await queryRunner.query(
      `CREATE TRIGGER "tr_invalidate_gateways" AFTER UPDATE OF key_hash, credential_mode, config_version, tenant_id OR DELETE ON "gateways" FOR EACH ROW EXECUTE FUNCTION keyplane_invalidate('owned')`,
    );
    await queryRunner.query(`DROP INDEX "public"."ix_gateways_previous_key_hash"`);
    await queryRunner.query(`DROP INDEX "public"."ix_tenants_previous_notification_kek_version"`);
    await queryRunner.query(`DROP INDEX "public"."ix_gateways_previous_signing_kek_version"`);
    for (const c of [
      'previous_notification_expires_at',
      'previous_notification_ciphertext',
      'previous_notification_wrapped_key',
      'previous_notification_kek_version',
    ]) {
      await queryRunner.query(`ALTER TABLE "tenants" DROP COLUMN "${c}"`);
    }
    for (const c of [
      'previous_key_expires_at',
      'previous_key_hash',
      'previous_signing_expires_at',
      'previous_signing_ciphertext',
      'previous_signing_wrapped_key',
      'previous_signing_kek_version',
    ]) {
      await queryRunner.query(`ALTER TABLE "gateways" DROP COLUMN "${c}"`);
    }
  }
}
