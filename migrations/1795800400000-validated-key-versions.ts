import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Duplicate-key detection matches only key versions that validated at their provider (issue 14,
 * "no oracles"): validated_at is set by the worker when a check of the version first returns a
 * working outcome. Versions that already serve (ACTIVE, PREVIOUS) only got there by validating,
 * so they are backfilled; a PENDING version waits for its check. The partial index serves the
 * match query, which now reads only validated fingerprints.
 *
 * Alerts raised before this migration by keys that never validated are resolved by the next
 * fingerprint rescan (startKeyRescan): their credentials no longer match.
 */
export class ValidatedKeyVersions1795800400000 implements MigrationInterface {
  name = 'ValidatedKeyVersions1795800400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "validated_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `UPDATE "credential_versions" SET "validated_at" = COALESCE("activated_at", "created_at") WHERE "state" IN ('ACTIVE', 'PREVIOUS')`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_credential_versions_validated_fingerprint" ON "credential_versions" ("fingerprint")
        WHERE "fingerprint" IS NOT NULL AND "validated_at" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."ix_credential_versions_validated_fingerprint"`);
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "validated_at"`);
  }
}
