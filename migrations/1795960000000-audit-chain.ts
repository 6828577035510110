import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tamper-evident audit trail (issue 16; docs/audit.md "Trust model").
 *
 * - Every audit row joins a hash chain: one per tenant and one for the platform (tenant_id NULL).
 *   seq is gap-free per chain, prev_hash is the previous row's hash (64 zeros for the first) and
 *   hash = hex(SHA-256(UTF-8(prev_hash || audit_event_canonical(row)))).
 * - The chain is computed by a BEFORE INSERT trigger, in the inserting transaction: every way a
 *   row reaches the table (auditInTx, the credential group-commit statement, the INSERT … SELECT
 *   fan-outs of host and platform-key changes, and any action added later) is chained the same,
 *   with no per-action code. Values a caller passes for seq, prev_hash and hash are overwritten.
 * - audit_chain_heads holds each chain's last seq and hash. The trigger locks that row
 *   (by updating it) until the inserting transaction ends: concurrent writers of one chain,
 *   in any number of processes, queue there, so a chain never forks and seq never repeats or skips
 *   (a rolled-back insert rolls its head back too). The cost: audited transactions of ONE tenant
 *   commit one after the other from their audit insert on; other tenants are not affected.
 * - audit_events becomes append-only for the application: UPDATE, DELETE and TRUNCATE raise. An
 *   attacker with full database rights can still get past that; the chain and the signed
 *   checkpoints (audit_checkpoints) are what make that visible.
 * - Existing rows are chained here, per chain in (created_at, id) order, under a lock that keeps
 *   writers out meanwhile (row by row: minutes for millions of rows).
 */
export class AuditChain1795960000000 implements MigrationInterface {
  name = 'AuditChain1795960000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`LOCK TABLE "audit_events" IN SHARE ROW EXCLUSIVE MODE`);
    await queryRunner.query(`ALTER TABLE "audit_events" ADD "seq" bigint, ADD "prev_hash" text, ADD "hash" text`);
    await queryRunner.query(
      `CREATE TABLE "audit_chain_heads" (
        "chain" text PRIMARY KEY,
        "tenant_id" uuid,
        "seq" bigint NOT NULL,
        "prev_hash" text,
        "hash" text NOT NULL,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
      )`,
    );
    await queryRunner.query(
      `CREATE TABLE "audit_checkpoints" (
        "id" bigserial PRIMARY KEY,
        "chain" text NOT NULL,
        "tenant_id" uuid,
        "seq" bigint NOT NULL,
        "hash" text NOT NULL,
        "key_version" integer NOT NULL,
        "signature" text NOT NULL,
        "signed_at" TIMESTAMP WITH TIME ZONE NOT NULL
      )`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_audit_checkpoints_chain_seq" ON "audit_checkpoints" ("chain", "seq")`);
    // The canonical encoding (docs/audit.md): a JSON object, keys sorted, no whitespace, every value
    // a JSON string except seq (a number) and absent values (null); details is the text of the jsonb
    // value, created_at ISO 8601 in UTC with microseconds. JSON.stringify of the same object in
    // JavaScript gives the same text (to_json escapes strings exactly as it does).
    await queryRunner.query(
      `CREATE FUNCTION "audit_event_canonical"(e "audit_events") RETURNS text LANGUAGE sql STABLE AS $$
        SELECT '{"action":' || to_json(e.action)::text
          || ',"actor_id":' || COALESCE(to_json(e.actor_id)::text, 'null')
          || ',"actor_type":' || to_json(e.actor_type)::text
          || ',"created_at":' || to_json(to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
          || ',"details":' || to_json(e.details::text)::text
          || ',"id":' || to_json(e.id::text)::text
          || ',"request_id":' || COALESCE(to_json(e.request_id)::text, 'null')
          || ',"seq":' || e.seq::text
          || ',"target_id":' || COALESCE(to_json(e.target_id)::text, 'null')
          || ',"target_type":' || to_json(e.target_type)::text
          || ',"tenant_id":' || COALESCE(to_json(e.tenant_id::text)::text, 'null')
          || '}'
      $$`,
    );
    await queryRunner.query(
      `CREATE FUNCTION "audit_event_hash"(prev text, e "audit_events") RETURNS text LANGUAGE sql STABLE AS $$
        SELECT encode(sha256(convert_to(prev || audit_event_canonical(e), 'UTF8')), 'hex')
      $$`,
    );
    await queryRunner.query(
      `DO $$
       DECLARE
         r "audit_events";
         k text;
         cur text := NULL;
         cur_tenant uuid;
         s bigint;
         h text;
       BEGIN
         FOR r IN SELECT * FROM "audit_events" ORDER BY "tenant_id" NULLS FIRST, "created_at", "id" LOOP
           k := COALESCE(r.tenant_id::text, 'platform');
           IF cur IS DISTINCT FROM k THEN
             IF cur IS NOT NULL THEN
               INSERT INTO "audit_chain_heads" ("chain", "tenant_id", "seq", "hash") VALUES (cur, cur_tenant, s, h);
             END IF;
             cur := k; cur_tenant := r.tenant_id; s := 0; h := repeat('0', 64);
           END IF;
           s := s + 1;
           r.seq := s;
           r.prev_hash := h;
           h := audit_event_hash(h, r);
           UPDATE "audit_events" SET "seq" = s, "prev_hash" = r.prev_hash, "hash" = h WHERE "id" = r.id;
         END LOOP;
         IF cur IS NOT NULL THEN
           INSERT INTO "audit_chain_heads" ("chain", "tenant_id", "seq", "hash") VALUES (cur, cur_tenant, s, h);
         END IF;
       END $$`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" ALTER COLUMN "seq" SET NOT NULL, ALTER COLUMN "prev_hash" SET NOT NULL, ALTER COLUMN "hash" SET NOT NULL`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_audit_events_tenant_seq" ON "audit_events" ("tenant_id", "seq") WHERE "tenant_id" IS NOT NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_audit_events_platform_seq" ON "audit_events" ("seq") WHERE "tenant_id" IS NULL`);
    // The canonical encoding again, inline (one row costs one UPDATE and no nested function
    // calls: the group-commit statement writes up to 64 rows), split around seq, which the UPDATE
    // assigns. audit_event_canonical above is the reference; the tests hold the two together.
    await queryRunner.query(
      `CREATE FUNCTION "audit_events_chain"() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE
         k text := COALESCE(NEW.tenant_id::text, 'platform');
         before_seq text;
         after_seq text;
       BEGIN
         before_seq := '{"action":' || to_json(NEW.action)::text
           || ',"actor_id":' || COALESCE(to_json(NEW.actor_id)::text, 'null')
           || ',"actor_type":' || to_json(NEW.actor_type)::text
           || ',"created_at":' || to_json(to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
           || ',"details":' || to_json(NEW.details::text)::text
           || ',"id":' || to_json(NEW.id::text)::text
           || ',"request_id":' || COALESCE(to_json(NEW.request_id)::text, 'null')
           || ',"seq":';
         after_seq := ',"target_id":' || COALESCE(to_json(NEW.target_id)::text, 'null')
           || ',"target_type":' || to_json(NEW.target_type)::text
           || ',"tenant_id":' || COALESCE(to_json(NEW.tenant_id::text)::text, 'null')
           || '}';
         LOOP
           -- The row lock this UPDATE takes is held until the transaction ends: writers of one
           -- chain take turns (see above). SET reads the old values throughout.
           UPDATE "audit_chain_heads"
              SET "prev_hash" = "hash",
                  "seq" = "seq" + 1,
                  "hash" = encode(sha256(convert_to("hash" || before_seq || ("seq" + 1)::text || after_seq, 'UTF8')), 'hex'),
                  "updated_at" = now()
            WHERE "chain" = k
           RETURNING "seq", "prev_hash", "hash" INTO NEW.seq, NEW.prev_hash, NEW.hash;
           EXIT WHEN FOUND;
           INSERT INTO "audit_chain_heads" ("chain", "tenant_id", "seq", "hash") VALUES (k, NEW.tenant_id, 0, repeat('0', 64))
             ON CONFLICT ("chain") DO NOTHING;
         END LOOP;
         RETURN NEW;
       END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_chain" BEFORE INSERT ON "audit_events" FOR EACH ROW EXECUTE FUNCTION "audit_events_chain"()`,
    );
    await queryRunner.query(
      `CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
       END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events" FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events" FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "audit_events_no_truncate" ON "audit_events"`);
    await queryRunner.query(`DROP TRIGGER "audit_events_append_only" ON "audit_events"`);
    await queryRunner.query(`DROP FUNCTION "audit_events_append_only"()`);
    await queryRunner.query(`DROP TRIGGER "audit_events_chain" ON "audit_events"`);
    await queryRunner.query(`DROP FUNCTION "audit_events_chain"()`);
    await queryRunner.query(`DROP INDEX "public"."uq_audit_events_platform_seq"`);
    await queryRunner.query(`DROP INDEX "public"."uq_audit_events_tenant_seq"`);
    await queryRunner.query(`DROP FUNCTION "audit_event_hash"(text, "audit_events")`);
    await queryRunner.query(`DROP FUNCTION "audit_event_canonical"("audit_events")`);
    await queryRunner.query(`ALTER TABLE "audit_events" DROP COLUMN "hash", DROP COLUMN "prev_hash", DROP COLUMN "seq"`);
    await queryRunner.query(`DROP TABLE "audit_checkpoints"`);
    await queryRunner.query(`DROP TABLE "audit_chain_heads"`);
  }
}
