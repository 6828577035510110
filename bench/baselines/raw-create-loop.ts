/**
 * Baseline for createCredential: the same crypto (seal, fingerprint, redaction), one plain INSERT
 * and one BullMQ add per operation, from `concurrency` async loops in one process. No HTTP, no
 * GraphQL, no auth, no transaction: what storing a key costs at the bottom.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { redactSecret, SEALS } from '../../src/crypto';
import { createRedis } from '../../src/queue/connection';
import { DEFAULT_JOB_OPTIONS } from '../../src/queue/queues';
import { box, benchKey, fingerprinter } from '../harness/db';
import { percentile } from '../harness/stats';

const [databaseUrl, redisUrl, prefix, tenantId, warmupS, runS, concurrency, poolSize, tag] = process.argv.slice(2);
const PREFIXES = ['sk-proj-', 'sk-svcacct-', 'sk-admin-', 'sk-'];

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrl, max: Number(poolSize) });
  const redis = createRedis(redisUrl, 'producer');
  const queue = new Queue('credentials', { connection: redis, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
  let n = 0;
  // Operations that finish inside [from, to] count, as autocannon counts responses inside its duration.
  let from = Infinity;
  let to = Infinity;
  let stop = false;
  let failed = 0;
  const latencies: number[] = [];

  const once = async (): Promise<void> => {
    const started = performance.now();
    const id = randomUUID();
    const key = benchKey(tag, n++);
    const sealed = await box.seal(key, SEALS.credentialVersion.context({ tenantId, objectId: id, version: 1 }));
    const fingerprint = fingerprinter.fingerprint(key);
    await pool.query(
      `INSERT INTO bench_raw_credentials (id, tenant_id, kek_version, wrapped_key, ciphertext, fingerprint, redacted_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, tenantId, sealed.kekVersion, sealed.wrappedKey, sealed.ciphertext, fingerprint, redactSecret(key, PREFIXES)],
    );
    await queue.add('validate-credential', { tenantId, credentialId: id, version: 1 }, { jobId: `validate-credential-${id}-v1` });
    const ended = performance.now();
    if (ended >= from && ended <= to) latencies.push(ended - started);
  };

  const loop = async (): Promise<void> => {
    while (!stop) {
      try {
        await once();
      } catch {
        const ended = performance.now();
        if (ended >= from && ended <= to) failed++;
      }
    }
  };
  const loops = Array.from({ length: Number(concurrency) }, loop);
  await new Promise((r) => setTimeout(r, Number(warmupS) * 1000));
  from = performance.now();
  to = from + Number(runS) * 1000;
  await new Promise((r) => setTimeout(r, Number(runS) * 1000));
  stop = true;
  await Promise.all(loops);
  const seconds = (to - from) / 1000;
  const ok = latencies.length;
  process.send?.({
    rate: ok / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ok,
    failed,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  });
  await queue.close();
  redis.disconnect();
  await pool.end();
}

main().catch((error) => {
  process.stderr.write(`raw-create-loop: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
