import { Redis } from 'ioredis';
import { Client } from 'pg';
import { queueSchemaOf } from '../../src/config-values';
import { TEST_DATABASE_URL, TEST_QUEUE_BACKEND, TEST_REDIS_URL } from './test-env';

/** A piece this long of a secret is a leak (the same window scrubText in src/crypto uses). */
export const LEAK_WINDOW = 12;

export interface LeakHit {
  /** e.g. "log line 14", "response 3", "table credential_versions row 2 (bytea ciphertext as latin1)". */
  where: string;
  secret: string;
  /** What matched, and how it was encoded. */
  needle: string;
  encoding: 'plain' | 'hex' | 'base64' | 'base64url';
  excerpt: string;
}

interface Needle {
  secret: string;
  needle: string;
  encoding: LeakHit['encoding'];
}

/** Every 12-character window of a secret (the whole secret when shorter). */
export function windowsOf(secret: string, size = LEAK_WINDOW): string[] {
  if (secret.length <= size) return secret ? [secret] : [];
  const out = new Set<string>();
  for (let i = 0; i + size <= secret.length; i++) out.add(secret.slice(i, i + size));
  return [...out];
}

/**
 * Needles for each secret: every 12-character window as plain text and hex, and 16-character
 * aligned pieces of the base64 / base64url encodings starting at each of the 3 byte alignments.
 */
function needlesFor(secrets: readonly string[]): Needle[] {
  const needles: Needle[] = [];
  for (const secret of secrets) {
    for (const w of windowsOf(secret)) {
      needles.push({ secret, needle: w, encoding: 'plain' });
      needles.push({ secret, needle: Buffer.from(w, 'utf8').toString('hex'), encoding: 'hex' });
    }
    for (const encoding of ['base64', 'base64url'] as const) {
      for (let shift = 0; shift < 3; shift++) {
        const encoded = Buffer.from(secret.slice(shift), 'utf8').toString(encoding).replace(/=+$/, '');
        // Drop the last group: it depends on what follows the secret in the encoded blob.
        for (let i = 0; i + 16 <= encoded.length - 4; i += 4) needles.push({ secret, needle: encoded.slice(i, i + 16), encoding });
      }
    }
  }
  return needles;
}

/** Scans named texts for any needle; hex is matched case-insensitively. */
export function scanTexts(sources: { where: string; text: string }[], secrets: readonly string[]): LeakHit[] {
  const needles = needlesFor(secrets.filter((s) => s.length > 0));
  const hits: LeakHit[] = [];
  for (const { where, text } of sources) {
    const lower = text.toLowerCase();
    for (const n of needles) {
      const at = n.encoding === 'hex' ? lower.indexOf(n.needle) : text.indexOf(n.needle);
      if (at === -1) continue;
      hits.push({ where, secret: n.secret, needle: n.needle, encoding: n.encoding, excerpt: text.slice(Math.max(0, at - 40), at + 60) });
      break; // one hit per source is enough to point at it
    }
  }
  return hits;
}

/** Every row of every table in the public schema, as JSON text plus its bytea columns decoded as they are. */
export async function dumpDatabase(
  db: { query(sql: string, params?: unknown[]): Promise<any> },
  schemas?: string[],
): Promise<{ where: string; text: string }[]> {
  // Every schema of ours: public, and on the postgres queue backend BullMQ's (job data lives there).
  const tables: { table_schema: string; table_name: string }[] = await db.query(
    `SELECT table_schema, table_name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'
        AND ($1::text[] IS NULL OR table_schema = ANY($1::text[]))
      ORDER BY 1, 2`,
    [schemas ?? null],
  );
  const out: { where: string; text: string }[] = [];
  for (const { table_schema: schema, table_name: table } of tables) {
    const name = schema === 'public' ? table : `${schema}.${table}`;
    const from = `"${schema}"."${table}"`;
    const rows: { j: string }[] = await db.query(`SELECT row_to_json(x)::text AS j FROM ${from} x`);
    rows.forEach((r, i) => out.push({ where: `table ${name} row ${i} (row_to_json)`, text: r.j }));
    const byteaCols: { column_name: string }[] = await db.query(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea'`,
      [schema, table],
    );
    for (const { column_name: col } of byteaCols) {
      const values: { v: Buffer | null }[] = await db.query(`SELECT "${col}" AS v FROM ${from}`);
      values.forEach(({ v }, i) => {
        if (!v) return;
        out.push({ where: `table ${name} row ${i} (bytea ${col} as utf8)`, text: v.toString('utf8') });
        out.push({ where: `table ${name} row ${i} (bytea ${col} as latin1)`, text: v.toString('latin1') });
      });
    }
  }
  return out;
}

/**
 * What the test queue backend holds for a prefix: its Redis keys (dumpRedis), or the rows of its
 * BullMQ schema on PostgreSQL. Each entry's `where` names the queue as `<prefix>:<queue>` on both,
 * so a suite can check that its jobs were there to be scanned.
 */
export async function dumpQueueStore(prefix?: string): Promise<{ where: string; text: string }[]> {
  if (TEST_QUEUE_BACKEND === 'redis') {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      return await dumpRedis(redis, prefix);
    } finally {
      redis.disconnect();
    }
  }
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const query = async (sql: string, params?: unknown[]) => (await client.query(sql, params)).rows;
    // Without a prefix: every queue schema in the database (other runs' rows cannot hold our canaries).
    const schemas = prefix
      ? [queueSchemaOf(prefix)]
      : ((await query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE '%\\_queues'`)) as { nspname: string }[]).map((r) => r.nspname);
    const dump = await dumpDatabase({ query }, schemas);
    return dump.map((d) => {
      const queue = /"queue":"([^"]+)"/.exec(d.text)?.[1];
      const schema = /^table ([^.]+)\./.exec(d.where)?.[1];
      return queue && schema ? { ...d, where: `${d.where} ${prefix ?? schema}:${queue}` } : d;
    });
  } finally {
    await client.end();
  }
}

/**
 * Every key of the Redis database (the shared one too: other suites' keys cannot hold our random
 * canaries), or only those under a BullMQ prefix, each value read as its type allows, decoded
 * both ways like bytea in dumpDatabase.
 */
export async function dumpRedis(redis: Redis, prefix?: string): Promise<{ where: string; text: string }[]> {
  const out: { where: string; text: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = prefix
      ? await redis.scanBuffer(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      : await redis.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const keyBuf of keys) {
      const key = keyBuf.toString('latin1');
      const parts: Buffer[] = [keyBuf];
      const type = await redis.type(keyBuf);
      if (type === 'string') parts.push((await redis.getBuffer(keyBuf)) ?? Buffer.alloc(0));
      else if (type === 'hash') {
        for (const [field, v] of Object.entries(await redis.hgetallBuffer(keyBuf))) parts.push(Buffer.from(field), v);
      } else if (type === 'list') parts.push(...(await redis.lrangeBuffer(keyBuf, 0, -1)));
      else if (type === 'set') parts.push(...(await redis.smembersBuffer(keyBuf)));
      else if (type === 'zset') parts.push(...(await redis.zrangeBuffer(keyBuf, 0, -1)));
      else if (type === 'stream') parts.push(Buffer.from(JSON.stringify(await redis.xrange(keyBuf, '-', '+'))));
      const value = Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
      out.push({ where: `redis ${type} ${key} (utf8)`, text: value.toString('utf8') });
      out.push({ where: `redis ${type} ${key} (latin1)`, text: value.toString('latin1') });
    }
  } while (cursor !== '0');
  return out;
}

/** A readable failure message listing where each leak was found. */
export function describeHits(hits: LeakHit[]): string {
  return hits.map((h) => `${h.where}: ${h.encoding} "${h.needle}" of ${h.secret.slice(0, 14)}… in …${h.excerpt}…`).join('\n');
}
