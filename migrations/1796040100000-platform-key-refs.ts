import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * platform_keys.key_ref: the platform key's keyed reference for its audit events (created,
 * revoked), computed once when it is stored and kept after its material is destroyed, like
 * credential_versions.key_ref (migration 1796040000000; docs/audit.md "Key references").
 */
export class PlatformKeyRefs1796040100000 implements MigrationInterface {
  name = 'PlatformKeyRefs1796040100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "platform_keys" ADD "key_ref" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "platform_keys" DROP COLUMN "key_ref"`);
  }
}
