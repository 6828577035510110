import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fingerprint pepper rotation (issue 15, item 4).
 *
 * Every stored fingerprint records the pepper version it was computed under. Existing rows were
 * all computed under the one pepper there was, which a plain KEYPLANE_FINGERPRINT_KEY still means
 * (version 1), hence the default. The indexes let the start-up check list the versions in use by a
 * loose index scan and let the rekey job find the rows left under older versions.
 */
export class PepperVersions1795930100000 implements MigrationInterface {
  name = 'PepperVersions1795930100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "pepper_version" integer NOT NULL DEFAULT '1'`);
    await queryRunner.query(`ALTER TABLE "key_reuse_alerts" ADD "pepper_version" integer NOT NULL DEFAULT '1'`);
    await queryRunner.query(
      `CREATE INDEX "ix_credential_versions_pepper_version" ON "credential_versions" ("pepper_version") WHERE "fingerprint" IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "ix_key_reuse_alerts_pepper_version" ON "key_reuse_alerts" ("pepper_version") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."ix_key_reuse_alerts_pepper_version"`);
    await queryRunner.query(`DROP INDEX "public"."ix_credential_versions_pepper_version"`);
    await queryRunner.query(`ALTER TABLE "key_reuse_alerts" DROP COLUMN "pepper_version"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "pepper_version"`);
  }
}
