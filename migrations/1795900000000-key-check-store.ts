import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key-check limits and the key-test cache on PostgreSQL, for QUEUE_BACKEND=postgres (no Redis):
 * the same GCRA step as the Redis script (src/modules/key-check/gcra.ts), in one function call, so
 * every API process shares one bucket per tenant and token. UNLOGGED: like the Redis keys they
 * replace, they are soft state (a crash empties them; limits restart full, the cache cold), and
 * writes skip the WAL. Keys are hashes and ids under the queue prefix, never key material.
 */
export class KeyCheckStore1795900000000 implements MigrationInterface {
  name = 'KeyCheckStore1795900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE UNLOGGED TABLE "key_check_buckets" ("key" text NOT NULL, "tat" double precision NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_key_check_buckets" PRIMARY KEY ("key"))`,
    );
    await queryRunner.query(
      `CREATE UNLOGGED TABLE "key_test_cache" ("key" text NOT NULL, "value" jsonb NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_key_test_cache" PRIMARY KEY ("key"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_key_check_buckets_expires" ON "key_check_buckets" ("expires_at")`);
    await queryRunner.query(`CREATE INDEX "ix_key_test_cache_expires" ON "key_test_cache" ("expires_at")`);
    // Returns (allowed, wait_ms, refusals in the window), as TAKE_SCRIPT does. Rows are locked in
    // key order, so two takes on the same tenant never deadlock; the server's clock is "now" for
    // every API process. Expired rows are swept now and then by the calls themselves.
    await queryRunner.query(`
      CREATE FUNCTION "keyplane_key_check_take"(tenant_key text, token_key text, refused_key text,
          tenant_iv float8, tenant_tol float8, token_iv float8, token_tol float8, window_ms float8)
      RETURNS TABLE (allowed boolean, wait_ms float8, refused integer) LANGUAGE plpgsql AS $fn$
      DECLARE
        now_ms float8 := extract(epoch FROM clock_timestamp()) * 1000;
        tat_a float8;
        tat_b float8;
        wait float8;
        n integer;
      BEGIN
        IF random() < 0.001 THEN
          DELETE FROM key_check_buckets WHERE expires_at < clock_timestamp() - interval '1 minute';
        END IF;
        INSERT INTO key_check_buckets (key, tat, expires_at)
          SELECT k, 0, clock_timestamp() FROM unnest(ARRAY[tenant_key, token_key]) AS k ORDER BY k
          ON CONFLICT (key) DO NOTHING;
        PERFORM 1 FROM key_check_buckets WHERE key IN (tenant_key, token_key) ORDER BY key FOR UPDATE;
        SELECT CASE WHEN expires_at > clock_timestamp() THEN tat ELSE 0 END INTO tat_a FROM key_check_buckets WHERE key = tenant_key;
        SELECT CASE WHEN expires_at > clock_timestamp() THEN tat ELSE 0 END INTO tat_b FROM key_check_buckets WHERE key = token_key;
        tat_a := greatest(tat_a, now_ms);
        tat_b := greatest(tat_b, now_ms);
        wait := greatest(tat_a - tenant_tol - now_ms, tat_b - token_tol - now_ms);
        IF wait > 0 THEN
          INSERT INTO key_check_buckets (key, tat, expires_at)
            VALUES (refused_key, 1, clock_timestamp() + window_ms * interval '1 millisecond')
            ON CONFLICT (key) DO UPDATE SET
              tat = CASE WHEN key_check_buckets.expires_at > clock_timestamp() THEN key_check_buckets.tat + 1 ELSE 1 END,
              expires_at = CASE WHEN key_check_buckets.expires_at > clock_timestamp() THEN key_check_buckets.expires_at ELSE excluded.expires_at END
            RETURNING tat::integer INTO n;
          RETURN QUERY SELECT false, ceil(wait), n;
          RETURN;
        END IF;
        UPDATE key_check_buckets SET tat = tat_a + tenant_iv, expires_at = to_timestamp((tat_a + tenant_iv) / 1000) WHERE key = tenant_key;
        UPDATE key_check_buckets SET tat = tat_b + token_iv, expires_at = to_timestamp((tat_b + token_iv) / 1000) WHERE key = token_key;
        RETURN QUERY SELECT true, 0::float8, 0;
      END
      $fn$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "keyplane_key_check_take"(text, text, text, float8, float8, float8, float8, float8)`);
    await queryRunner.query(`DROP TABLE "key_test_cache"`);
    await queryRunner.query(`DROP TABLE "key_check_buckets"`);
  }
}
