import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Waiters of the outbound slots on PostgreSQL (QUEUE_BACKEND=postgres), the same steps as the
 * Redis scripts WAIT_SCRIPT and RELEASE_SCRIPT (src/outbound/isolation/slot-scripts.ts): a job put
 * back for want of a slot is recorded under the semaphore that refused it, and a release hands
 * back the oldest waiter of each semaphore it freed, for the worker to promote. UNLOGGED like the
 * slots: a crash empties them, and every put-back job still comes back on its own timer.
 *
 * Both functions take the advisory locks of the keys they touch (class 19280, ascending hash
 * order, as keyplane_outbound_acquire does), so a wait, a release and a take on one semaphore are
 * serialised and never deadlock. keyplane_outbound_report now says whether it opened a backoff
 * window (the keyplane_outbound_circuits_opened_total metric).
 */
export class OutboundWaiters1796010000000 implements MigrationInterface {
  name = 'OutboundWaiters1796010000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE UNLOGGED TABLE "outbound_waiters" ("key" text NOT NULL, "holder" text NOT NULL, "since" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "pk_outbound_waiters" PRIMARY KEY ("key", "holder"))`,
    );
    // The oldest waiter of a semaphore, and the stale ones (older than the longest put-back timer).
    await queryRunner.query(`CREATE INDEX "ix_outbound_waiters_key_since" ON "outbound_waiters" ("key", "since")`);
    await queryRunner.query(`
      CREATE FUNCTION "keyplane_outbound_wait"(p_key text, p_limit integer, p_holder text, p_max_wait_ms float8)
      RETURNS SETOF text LANGUAGE plpgsql AS $fn$
      DECLARE
        now_ts timestamptz := clock_timestamp();
        n integer;
      BEGIN
        PERFORM pg_advisory_xact_lock(19280, hashtext(p_key));
        DELETE FROM outbound_waiters WHERE key = p_key AND since <= now_ts - p_max_wait_ms * interval '1 millisecond';
        INSERT INTO outbound_waiters (key, holder, since) VALUES (p_key, p_holder, now_ts) ON CONFLICT (key, holder) DO NOTHING;
        SELECT count(*) INTO n FROM outbound_slots WHERE key = p_key AND expires_at > now_ts;
        IF n < p_limit THEN
          RETURN QUERY
            DELETE FROM outbound_waiters w
             WHERE (w.key, w.holder) IN (SELECT key, holder FROM outbound_waiters WHERE key = p_key ORDER BY since, holder LIMIT p_limit - n)
            RETURNING w.holder;
        END IF;
      END
      $fn$`);
    await queryRunner.query(`
      CREATE FUNCTION "keyplane_outbound_release"(p_keys text[], p_holder text, p_max_wait_ms float8)
      RETURNS SETOF text LANGUAGE plpgsql AS $fn$
      DECLARE
        now_ts timestamptz := clock_timestamp();
        h integer;
        k text;
      BEGIN
        FOR h IN SELECT DISTINCT hashtext(x) FROM unnest(p_keys) AS x ORDER BY 1 LOOP
          PERFORM pg_advisory_xact_lock(19280, h);
        END LOOP;
        FOREACH k IN ARRAY p_keys LOOP
          DELETE FROM outbound_slots WHERE key = k AND holder = p_holder;
          IF FOUND THEN
            DELETE FROM outbound_waiters WHERE key = k AND since <= now_ts - p_max_wait_ms * interval '1 millisecond';
            RETURN QUERY
              DELETE FROM outbound_waiters w
               WHERE (w.key, w.holder) IN (SELECT key, holder FROM outbound_waiters WHERE key = k ORDER BY since, holder LIMIT 1)
              RETURNING w.holder;
          END IF;
        END LOOP;
      END
      $fn$`);
    await queryRunner.query(`DROP FUNCTION "keyplane_outbound_report"(text, boolean, integer, float8, float8)`);
    await queryRunner.query(reportFunction('boolean'));
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "keyplane_outbound_report"(text, boolean, integer, float8, float8)`);
    await queryRunner.query(reportFunction('void'));
    await queryRunner.query(`DROP FUNCTION "keyplane_outbound_release"(text[], text, float8)`);
    await queryRunner.query(`DROP FUNCTION "keyplane_outbound_wait"(text, integer, text, float8)`);
    await queryRunner.query(`DROP TABLE "outbound_waiters"`);
  }
}

/**
 * keyplane_outbound_report of migration OutboundSlots, returning (boolean) whether this report
 * opened a backoff window, or (void) nothing, as before.
 */
function reportFunction(returns: 'boolean' | 'void'): string {
  const ret = (value: string) => (returns === 'boolean' ? `RETURN ${value};` : 'RETURN;');
  return `
      CREATE FUNCTION "keyplane_outbound_report"(p_circuit text, p_unreachable boolean, p_backoff_after integer,
          p_base_ms float8, p_max_ms float8)
      RETURNS ${returns} LANGUAGE plpgsql AS $fn$
      DECLARE
        now_ts timestamptz := clock_timestamp();
        c_failures integer;
        c_open timestamptz;
        c_expires timestamptz;
        open_ts timestamptz;
      BEGIN
        IF NOT p_unreachable THEN
          DELETE FROM outbound_circuits WHERE key = p_circuit;
          ${ret('false')}
        END IF;
        INSERT INTO outbound_circuits (key, failures, open_until, expires_at) VALUES (p_circuit, 0, NULL, now_ts)
          ON CONFLICT (key) DO NOTHING;
        SELECT failures, open_until, expires_at INTO c_failures, c_open, c_expires FROM outbound_circuits WHERE key = p_circuit FOR UPDATE;
        IF c_expires <= now_ts THEN
          c_failures := 0;
          c_open := NULL;
        END IF;
        IF c_open IS NOT NULL AND c_open > now_ts THEN
          ${ret('false')}
        END IF;
        c_failures := c_failures + 1;
        IF c_failures >= p_backoff_after THEN
          open_ts := now_ts + least(p_base_ms * power(2, least(c_failures - p_backoff_after, 30)), p_max_ms) * interval '1 millisecond';
        END IF;
        UPDATE outbound_circuits
           SET failures = c_failures, open_until = open_ts,
               expires_at = greatest(coalesce(open_ts, now_ts), now_ts) + p_max_ms * interval '1 millisecond'
         WHERE key = p_circuit;
        ${ret('open_ts IS NOT NULL')}
      END
      $fn$`;
}
