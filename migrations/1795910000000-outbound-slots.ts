import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbound slots and circuits on PostgreSQL, for QUEUE_BACKEND=postgres (no Redis): the same steps
 * as the Redis scripts (src/outbound/isolation/slot-scripts.ts), one function call each, so every
 * worker process shares one semaphore per tenant, destination and tenant+destination, and one
 * circuit per tenant+destination. UNLOGGED: soft state like the Redis keys they replace (a crash
 * empties them: every slot free, every circuit closed). A slot row is a lease: it counts only until
 * expires_at, so a crashed worker's slots lapse without anyone releasing them.
 *
 * Takes on the same keys are serialised by transaction-scoped advisory locks (class 0x4b50 "KP",
 * key hashtext), taken in ascending hash order so two takes never deadlock; the server's clock is
 * "now" for every worker.
 */
export class OutboundSlots1795910000000 implements MigrationInterface {
  name = 'OutboundSlots1795910000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE UNLOGGED TABLE "outbound_slots" ("key" text NOT NULL, "holder" text NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_outbound_slots" PRIMARY KEY ("key", "holder"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_outbound_slots_expires" ON "outbound_slots" ("expires_at")`);
    await queryRunner.query(
      `CREATE UNLOGGED TABLE "outbound_circuits" ("key" text NOT NULL, "failures" integer NOT NULL, "open_until" TIMESTAMP WITH TIME ZONE, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_outbound_circuits" PRIMARY KEY ("key"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_outbound_circuits_expires" ON "outbound_circuits" ("expires_at")`);
    // p_keys: tenant, destination, tenant+destination; p_limits: their maxima. Returns (granted,
    // refusal reason, ms until the earliest lease ends or the backoff window closes).
    await queryRunner.query(`
      CREATE FUNCTION "keyplane_outbound_acquire"(p_keys text[], p_limits integer[], p_holder text, p_circuit text,
          p_lease_ms float8, p_backoff_after integer)
      RETURNS TABLE (granted boolean, reason text, retry_ms float8) LANGUAGE plpgsql AS $fn$
      DECLARE
        now_ts timestamptz := clock_timestamp();
        lim integer[] := p_limits;
        names text[] := ARRAY['TENANT', 'DESTINATION', 'TENANT_DESTINATION'];
        h integer;
        n integer;
        first_end timestamptz;
        c_failures integer;
        c_open timestamptz;
      BEGIN
        FOR h IN SELECT DISTINCT hashtext(k) FROM unnest(p_keys || p_circuit) AS k ORDER BY 1 LOOP
          PERFORM pg_advisory_xact_lock(19280, h);
        END LOOP;
        IF random() < 0.01 THEN
          DELETE FROM outbound_slots WHERE expires_at < now_ts;
          DELETE FROM outbound_circuits WHERE expires_at < now_ts;
        END IF;
        SELECT failures, open_until INTO c_failures, c_open FROM outbound_circuits WHERE key = p_circuit AND expires_at > now_ts;
        IF FOUND THEN
          IF c_open IS NOT NULL AND c_open > now_ts THEN
            RETURN QUERY SELECT false, 'BACKOFF'::text, (extract(epoch FROM c_open - now_ts) * 1000)::float8;
            RETURN;
          END IF;
          IF c_failures >= p_backoff_after THEN
            lim[3] := 1;
          END IF;
        END IF;
        DELETE FROM outbound_slots WHERE key = ANY(p_keys) AND expires_at <= now_ts;
        FOR i IN 1..3 LOOP
          IF NOT EXISTS (SELECT 1 FROM outbound_slots WHERE key = p_keys[i] AND holder = p_holder) THEN
            SELECT count(*), min(expires_at) INTO n, first_end FROM outbound_slots WHERE key = p_keys[i];
            IF n >= lim[i] THEN
              RETURN QUERY SELECT false, names[i], greatest(extract(epoch FROM first_end - now_ts) * 1000, 0)::float8;
              RETURN;
            END IF;
          END IF;
        END LOOP;
        INSERT INTO outbound_slots (key, holder, expires_at)
          SELECT k, p_holder, now_ts + p_lease_ms * interval '1 millisecond' FROM unnest(p_keys) AS k
          ON CONFLICT (key, holder) DO UPDATE SET expires_at = excluded.expires_at;
        RETURN QUERY SELECT true, NULL::text, 0::float8;
      END
      $fn$`);
    // An answer closes the circuit; a call without one counts unless the circuit is already open.
    await queryRunner.query(`
      CREATE FUNCTION "keyplane_outbound_report"(p_circuit text, p_unreachable boolean, p_backoff_after integer,
          p_base_ms float8, p_max_ms float8)
      RETURNS void LANGUAGE plpgsql AS $fn$
      DECLARE
        now_ts timestamptz := clock_timestamp();
        c_failures integer;
        c_open timestamptz;
        c_expires timestamptz;
        open_ts timestamptz;
      BEGIN
        IF NOT p_unreachable THEN
          DELETE FROM outbound_circuits WHERE key = p_circuit;
          RETURN;
        END IF;
        INSERT INTO outbound_circuits (key, failures, open_until, expires_at) VALUES (p_circuit, 0, NULL, now_ts)
          ON CONFLICT (key) DO NOTHING;
        SELECT failures, open_until, expires_at INTO c_failures, c_open, c_expires FROM outbound_circuits WHERE key = p_circuit FOR UPDATE;
        IF c_expires <= now_ts THEN
          c_failures := 0;
          c_open := NULL;
        END IF;
        IF c_open IS NOT NULL AND c_open > now_ts THEN
          RETURN;
        END IF;
        c_failures := c_failures + 1;
        IF c_failures >= p_backoff_after THEN
          open_ts := now_ts + least(p_base_ms * power(2, least(c_failures - p_backoff_after, 30)), p_max_ms) * interval '1 millisecond';
        END IF;
        UPDATE outbound_circuits
           SET failures = c_failures, open_until = open_ts,
               expires_at = greatest(coalesce(open_ts, now_ts), now_ts) + p_max_ms * interval '1 millisecond'
         WHERE key = p_circuit;
      END
      $fn$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "keyplane_outbound_report"(text, boolean, integer, float8, float8)`);
    await queryRunner.query(`DROP FUNCTION "keyplane_outbound_acquire"(text[], integer[], text, text, float8, integer)`);
    await queryRunner.query(`DROP TABLE "outbound_circuits"`);
    await queryRunner.query(`DROP TABLE "outbound_slots"`);
  }
}
