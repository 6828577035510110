import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Platform audit reads and keyed key references (issue 16, items 4 and 5; docs/audit.md).
 *
 * - ix_audit_events_created: platformAuditEvents pages over every chain by (created_at, id); the
 *   per-tenant index cannot serve that order.
 * - ix_audit_events_key_refs: "every event about this key" (filter keyRef) is jsonb containment on
 *   details->'keyRefs'; a GIN index over rows that carry it (partial: other rows add nothing to it).
 *   keyRefs live in details, which the chain already hashes as its jsonb text, so neither the
 *   canonical encoding nor the trigger changes and rows written before this still verify.
 * - credential_versions.key_ref: the version's keyed reference, computed once from the key when it
 *   is stored (src/crypto Fingerprinter.auditKeyRef) and kept after the material is destroyed, so
 *   revoke and retire events still name it and a pepper rotation does not change it. Versions
 *   stored before this have none (NULL): their events say keyRef null.
 */
export class AuditPlatformKeyRefs1796040000000 implements MigrationInterface {
  name = 'AuditPlatformKeyRefs1796040000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "ix_audit_events_created" ON "audit_events" ("created_at", "id")`);
    await queryRunner.query(
      `CREATE INDEX "ix_audit_events_key_refs" ON "audit_events" USING gin (("details" -> 'keyRefs') jsonb_path_ops) WHERE "details" ? 'keyRefs'`,
    );
    await queryRunner.query(`ALTER TABLE "credential_versions" ADD "key_ref" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "credential_versions" DROP COLUMN "key_ref"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_key_refs"`);
    await queryRunner.query(`DROP INDEX "public"."ix_audit_events_created"`);
  }
}
