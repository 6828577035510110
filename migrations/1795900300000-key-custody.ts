import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key custody (issue 15, items 1, 2 and 6).
 *
 * - One partial index on the KEK version column of every sealed table (the kinds of
 *   src/crypto/seal-catalogue.ts). The start-up check asks "which versions are in use?" with a loose
 *   index scan (a recursive CTE that jumps from one distinct version to the next): a handful of
 *   index probes per table whatever the row count, so it stays in milliseconds at 1M rows, and
 *   counting the rows of one version (a missing one, the metric) is an index-only scan of that range.
 *   Plain CREATE INDEX (migrations run in a transaction): on a very large table, create them
 *   CONCURRENTLY by hand first, with these names, and this migration's IF NOT EXISTS skips them.
 * - kek_check_values: one known value sealed under each KEK version, opened at start, so a wrong
 *   or missing master key stops the process before it serves (fail closed). Deliberately not in the
 *   seal catalogue and its column not named *kek_version: a check value must stay sealed under its
 *   own version, so the rewrap job must never move it.
 * - key_rewrap_runs: the rewrap job's state and progress (per-kind keyset cursors and counts),
 *   written in the same transaction as each page of rewraps, so a resumed job continues exactly
 *   where the last committed page ended. At most one run is open at a time (partial unique index).
 * - Credentials gain the status UNREADABLE: stored material that does not open (tampered, moved).
 */
export class KeyCustody1795900300000 implements MigrationInterface {
  name = 'KeyCustody1795900300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const [index, table, column] of INDEXES) {
      await queryRunner.query(`CREATE INDEX IF NOT EXISTS "${index}" ON "${table}" ("${column}") WHERE "${column}" IS NOT NULL`);
    }
    await queryRunner.query(
      `CREATE TABLE "kek_check_values" (
        "key_version" integer PRIMARY KEY CONSTRAINT "ck_kek_check_values_version" CHECK ("key_version" > 0),
        "wrapped_key" bytea NOT NULL,
        "ciphertext" bytea NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
      )`,
    );
    await queryRunner.query(
      `CREATE TABLE "key_rewrap_runs" (
        "id" text PRIMARY KEY,
        "state" text NOT NULL DEFAULT 'QUEUED'
          CONSTRAINT "ck_key_rewrap_runs_state" CHECK ("state" IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED')),
        "progress" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "requested_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "started_at" TIMESTAMP WITH TIME ZONE,
        "finished_at" TIMESTAMP WITH TIME ZONE,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
      )`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_key_rewrap_runs_one_open" ON "key_rewrap_runs" ((true)) WHERE "state" IN ('QUEUED', 'RUNNING')`);
    await queryRunner.query(`CREATE INDEX "ix_key_rewrap_runs_requested" ON "key_rewrap_runs" ("requested_at")`);
    await queryRunner.query(`ALTER TABLE "credentials" DROP CONSTRAINT "ck_credentials_status"`);
    await queryRunner.query(
      `ALTER TABLE "credentials" ADD CONSTRAINT "ck_credentials_status" CHECK ("status" IN ('PENDING_VALIDATION', 'ACTIVE', 'INVALID', 'REVOKED', 'UNREADABLE'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // An unreadable credential cannot serve: INVALID is the closest earlier status.
    await queryRunner.query(`UPDATE "credentials" SET "status" = 'INVALID' WHERE "status" = 'UNREADABLE'`);
    await queryRunner.query(`ALTER TABLE "credentials" DROP CONSTRAINT "ck_credentials_status"`);
    await queryRunner.query(
      `ALTER TABLE "credentials" ADD CONSTRAINT "ck_credentials_status" CHECK ("status" IN ('PENDING_VALIDATION', 'ACTIVE', 'INVALID', 'REVOKED'))`,
    );
    await queryRunner.query(`DROP TABLE "key_rewrap_runs"`);
    await queryRunner.query(`DROP TABLE "kek_check_values"`);
    for (const [index] of INDEXES) await queryRunner.query(`DROP INDEX IF EXISTS "public"."${index}"`);
  }
}

// Written out rather than read from the catalogue: a migration must not change when the code does.
const INDEXES: [index: string, table: string, column: string][] = [
  ['ix_credential_versions_kek_version', 'credential_versions', 'kek_version'],
  ['ix_platform_keys_kek_version', 'platform_keys', 'kek_version'],
  ['ix_gateways_signing_kek_version', 'gateways', 'signing_kek_version'],
  ['ix_tenants_notification_kek_version', 'tenants', 'notification_kek_version'],
];
