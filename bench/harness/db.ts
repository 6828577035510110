import { randomUUID } from 'node:crypto';
import { Client, Pool, escapeIdentifier } from 'pg';
import { Fingerprinter, parseKeyring, redactSecret, SEALS, SecretBox } from '../../src/crypto';
import { createDataSource } from '../../src/db/data-source';
import { BENCH_DATABASE_URL, BENCH_DB, FINGERPRINT_KEY, MASTER_KEYS, PG_ADMIN_URL } from './env';

/** The same crypto as the API and worker, keyed with the bench secrets, for seeding real rows. */
export const box = new SecretBox(parseKeyring(MASTER_KEYS));
export const fingerprinter = new Fingerprinter(Buffer.from(FINGERPRINT_KEY, 'utf8'));

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database built by the real migrations (never synchronize). */
export async function createBenchDatabase(): Promise<void> {
  await dropBenchDatabase();
  await admin((c) => c.query(`CREATE DATABASE ${escapeIdentifier(BENCH_DB)}`));
  const db = createDataSource(BENCH_DATABASE_URL, 2);
  await db.initialize();
  try {
    await db.runMigrations({ transaction: 'each' });
  } finally {
    await db.destroy();
  }
}

export async function benchDatabaseExists(): Promise<boolean> {
  return admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DB])).rows.length > 0);
}

export async function dropBenchDatabase(): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(BENCH_DB)} WITH (FORCE)`));
}

export function benchPool(max = 4): Pool {
  return new Pool({ connectionString: BENCH_DATABASE_URL, max });
}

/** A GraphQL call for setup (not timed); fails loudly on errors and userErrors. */
export async function gql<T = any>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  for (const payload of Object.values(body.data)) {
    if (payload?.userErrors?.length) throw new Error(`userErrors: ${JSON.stringify(payload.userErrors)}`);
  }
  return body.data as T;
}

/** A tenant with an ADMIN token, created through the API as a client would. */
export async function tenantWithToken(url: string, adminToken: string, name: string): Promise<{ tenantId: string; token: string }> {
  const slug = `${name}-${randomUUID().slice(0, 8)}`;
  const t = await gql(url, adminToken, 'mutation($i: CreateTenantInput!) { createTenant(input: $i) { tenant { id } userErrors { code } } }', {
    i: { name: `Bench ${slug}`, slug },
  });
  const tenantId: string = t.createTenant.tenant.id;
  const k = await gql(url, adminToken, 'mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token userErrors { code } } }', {
    i: { tenantId, name: 'bench admin', role: 'ADMIN' },
  });
  return { tenantId, token: k.createApiToken.token };
}

export async function providerId(pool: Pool, slug: string): Promise<{ id: string; prefixes: string[] }> {
  const { rows } = await pool.query('SELECT id, key_prefixes FROM providers WHERE slug = $1', [slug]);
  if (!rows[0]) throw new Error(`no provider ${slug}`);
  return { id: rows[0].id, prefixes: rows[0].key_prefixes };
}

/** A well-formed OpenAI-style key, unique per (tag, n); cheap enough to make per request. */
export function benchKey(tag: string, n: number): string {
  return `sk-proj-${tag}${String(n).padStart(12, '0')}QmVuY2hLZXlQYWRkaW5n`;
}

export interface SeededCredential {
  id: string;
  key: string;
}

/**
 * Inserts credentials with real sealed material and fingerprints (as if created through the API),
 * in multi-row INSERTs. `validated` rows are ACTIVE with a last check; others are fresh and PENDING.
 */
export async function seedCredentials(
  pool: Pool,
  o: { tenantId: string; provider: { id: string; prefixes: string[] }; count: number; tag: string; validated: boolean },
): Promise<SeededCredential[]> {
  const seeded: SeededCredential[] = [];
  // As the API records with a tenant's first key of a provider: the host the tenant sent it to.
  // Without it the worker holds the keys (awaiting host confirmation) and validates none.
  await pool.query(
    `INSERT INTO provider_host_confirmations (tenant_id, provider_id, base_url)
     SELECT $1, id, base_url FROM providers WHERE id = $2 ON CONFLICT (tenant_id, provider_id) DO NOTHING`,
    [o.tenantId, o.provider.id],
  );
  const batch = 500;
  for (let start = 0; start < o.count; start += batch) {
    const creds: unknown[] = [];
    const versions: unknown[] = [];
    const credValues: string[] = [];
    const versionValues: string[] = [];
    for (let i = start; i < Math.min(o.count, start + batch); i++) {
      const id = randomUUID();
      const key = benchKey(o.tag, i);
      const sealed = await box.seal(key, SEALS.credentialVersion.context({ tenantId: o.tenantId, objectId: id, version: 1 }));
      const hint = redactSecret(key, o.provider.prefixes);
      const c = creds.length;
      credValues.push(
        `($${c + 1}, $${c + 2}, $${c + 3}, $${c + 4}, $${c + 5}, $${c + 6}, $${c + 7}, now() + interval '60 days', $${c + 8}, $${c + 9}, now() - ($${c + 10}::text || ' seconds')::interval)`,
      );
      creds.push(
        id,
        o.tenantId,
        o.provider.id,
        `${o.tag}-${i}`,
        o.validated ? 'ACTIVE' : 'PENDING_VALIDATION',
        o.validated ? 1 : null,
        hint,
        o.validated ? 'VALID' : null,
        o.validated ? new Date() : null,
        String(o.count - i),
      );
      const v = versions.length;
      // A validated seed took part in duplicate detection as a real one would (validated_at set).
      versionValues.push(
        `($${v + 1}, $${v + 2}, 1, $${v + 3}, $${v + 4}, $${v + 5}, $${v + 6}, $${v + 7}, $${v + 8}, ${o.validated ? 'now()' : 'NULL'})`,
      );
      versions.push(
        o.tenantId,
        id,
        o.validated ? 'ACTIVE' : 'PENDING',
        sealed.kekVersion,
        sealed.wrappedKey,
        sealed.ciphertext,
        fingerprinter.fingerprint(key),
        hint,
      );
      seeded.push({ id, key });
    }
    await pool.query(
      `INSERT INTO credentials (id, tenant_id, provider_id, label, kind, status, current_version, redacted_key, rotate_by,
                                last_validation_outcome, last_validated_at, created_at)
       SELECT v.id::uuid, v.tenant_id::uuid, v.provider_id::uuid, v.label, 'API_KEY', v.status, v.current_version::int, v.redacted_key,
              v.rotate_by, v.outcome, v.checked_at::timestamptz, v.created_at
         FROM (VALUES ${credValues.join(', ')}) AS v(id, tenant_id, provider_id, label, status, current_version, redacted_key, rotate_by, outcome, checked_at, created_at)`,
      creds,
    );
    await pool.query(
      `INSERT INTO credential_versions (tenant_id, credential_id, version, state, kek_version, wrapped_key, ciphertext, fingerprint, redacted_key, validated_at)
       VALUES ${versionValues.join(', ')}`,
      versions,
    );
  }
  return seeded;
}
