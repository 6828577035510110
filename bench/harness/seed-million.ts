import type { Pool } from 'pg';

/**
 * Seeds `total` live credentials, each with one ACTIVE version, spread over `tenants` tenants, with
 * INSERT ... SELECT generate_series in batches (not timed). Ids are derived from the row number, so
 * versions can reference their credential without a round trip. Rotate-by dates run from 5 days
 * overdue to 95 days ahead (about a fifth inside the 14-day reminder horizon), creation dates over a
 * year. Fingerprints are distinct 32-byte values; the wrapped key and ciphertext are placeholders of
 * the real sizes: nothing measured here decrypts seeded rows.
 */
export async function seedMillion(pool: Pool, o: { total: number; tenants: number; providerId: string; log: (m: string) => void }): Promise<void> {
  const client = await pool.connect();
  const started = Date.now();
  try {
    // Seeding only: rows are valid by construction, so skip per-row FK triggers and commit waits.
    await client.query('SET session_replication_role = replica');
    await client.query('SET synchronous_commit = off');
    await client.query(
      `INSERT INTO tenants (id, name, slug)
       SELECT md5('bench-tenant-' || t)::uuid, 'Seed tenant ' || t, 'seed-' || t FROM generate_series(1, $1) t`,
      [o.tenants],
    );
    // Each seeded tenant confirmed the provider's host with its first key, as the API records it.
    await client.query(
      `INSERT INTO provider_host_confirmations (tenant_id, provider_id, base_url)
       SELECT md5('bench-tenant-' || t)::uuid, p.id, p.base_url FROM generate_series(1, $1) t, providers p WHERE p.id = $2`,
      [o.tenants, o.providerId],
    );
    const batch = 100_000;
    for (let from = 1; from <= o.total; from += batch) {
      const to = Math.min(o.total, from + batch - 1);
      await client.query(
        `INSERT INTO credentials (id, tenant_id, provider_id, label, kind, status, current_version, latest_version, redacted_key,
                                  rotate_by, last_validation_outcome, last_validated_at, created_at, updated_at)
         SELECT md5('bench-cred-' || n)::uuid, md5('bench-tenant-' || (n % $3 + 1))::uuid, $4, 'seed-' || n, 'API_KEY', 'ACTIVE', 1, 1,
                'sk-proj-…' || lpad((n % 10000)::text, 4, '0'),
                now() + ((n % 100) - 5) * interval '1 day' + (n % 24) * interval '1 hour',
                'VALID', now() - (n % 48) * interval '1 hour',
                now() - (n % 365) * interval '1 day' - (n % 86400) * interval '1 second', now()
           FROM generate_series($1::int, $2::int) n`,
        [from, to, o.tenants, o.providerId],
      );
      await client.query(
        `INSERT INTO credential_versions (tenant_id, credential_id, version, state, kek_version, wrapped_key, ciphertext,
                                          fingerprint, redacted_key, activated_at)
         SELECT md5('bench-tenant-' || (n % $3 + 1))::uuid, md5('bench-cred-' || n)::uuid, 1, 'ACTIVE', 1,
                decode(repeat('a5', 60), 'hex'), decode(repeat('5a', 90), 'hex'),
                sha256(('bench-fingerprint-' || n)::bytea), 'sk-proj-…' || lpad((n % 10000)::text, 4, '0'), now()
           FROM generate_series($1::int, $2::int) n`,
        [from, to, o.tenants],
      );
      o.log(`  seeded ${to.toLocaleString('en-US')} credentials (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    await client.query('RESET session_replication_role');
    await client.query('ANALYZE tenants, credentials, credential_versions');
  } finally {
    client.release();
  }
}

/** Tenant id of seeded tenant number `t` (1-based), as the seed derives it. */
export async function seededTenantId(pool: Pool, t: number): Promise<string> {
  const { rows } = await pool.query(`SELECT md5('bench-tenant-' || $1::int)::uuid AS id`, [t]);
  return rows[0].id;
}
