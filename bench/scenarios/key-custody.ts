import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { parseKeyring, SEALS, SecretBox } from '../../src/crypto';
import { REWRAP_PAGE_SIZE } from '../../src/modules/key-custody/rewrap-engine';
import { benchKey, gql, tenantWithToken } from '../harness/db';
import { FINGERPRINT_KEY, MASTER_KEYS, RUN_PREFIX } from '../harness/env';
import { benchQueues, startApi, startScript, startWorker, type Server } from '../harness/keyplane';
import { graphqlLoad, httpRun, type HttpLoad } from '../harness/load';
import { rssPeak, sleep, type Child } from '../harness/proc';
import type { Figure } from '../harness/report';
import { sealSeededVersions } from '../harness/seed-sealed';
import { summarize, type RunResult } from '../harness/stats';
import type { Ctx, Scenario } from './context';
import { ensureMillion, MILLION, settleOutbox } from './million';

/*
 * Key custody at a million sealed credential versions (issue 15): the master-key rewrap and the
 * pepper rekey through the real worker process, with the API taking createCredential traffic during
 * the rewrap. Both move every record to a new version (KEK 3, pepper 2), so they run last; processes
 * started afterwards need those versions in their keyrings.
 */

const ROWS = MILLION.toLocaleString('en-US');
const REWRAP_LIMIT_S = 120;
const REKEY_LIMIT_S = 180;
const RSS_LIMIT_MB = 256;
const P99_FACTOR = 2;
/** createCredential traffic while measuring p99: a steady open-loop rate, not a saturating flood. */
const LOAD = { connections: 4, overallRate: 50 };

/** Version 3, not 2: the kek-providers scenario uses 2 for its HSM key. */
const NEW_KEK = 3;
const KEK_ENV = {
  KEYPLANE_MASTER_KEYS: `${MASTER_KEYS},${NEW_KEK}:${Buffer.alloc(32, 13).toString('base64')}`,
  KEYPLANE_MASTER_KEY_CURRENT: String(NEW_KEK),
};
const PEPPER_ENV = {
  KEYPLANE_FINGERPRINT_KEY: `1:${FINGERPRINT_KEY},2:bench-fingerprint-pepper-version-2-0123456789`,
  KEYPLANE_FINGERPRINT_KEY_CURRENT: '2',
};
/**
 * The main API's keyrings on a reused database (--reuse-db): what an earlier run's key-custody
 * scenarios moved to KEK 3 or pepper 2 must open; version 1 stays current.
 */
export const REUSED_DB_ENV = {
  KEYPLANE_MASTER_KEYS: KEK_ENV.KEYPLANE_MASTER_KEYS,
  KEYPLANE_MASTER_KEY_CURRENT: '1',
  KEYPLANE_FINGERPRINT_KEY: PEPPER_ENV.KEYPLANE_FINGERPRINT_KEY,
  KEYPLANE_FINGERPRINT_KEY_CURRENT: '1',
};
const CREATE = `mutation($input: CreateCredentialInput!) {
  createCredential(input: $input) { credential { id } userErrors { code } }
}`;

let sealed: Promise<void> | null = null;

/** The million seeded versions with real material (once per run, not timed). */
function ensureSealedMillion(ctx: Ctx): Promise<void> {
  sealed ??= (async () => {
    await ensureMillion(ctx);
    ctx.log('sealing the seeded versions with real keys under KEK 1 (not timed)');
    await sealSeededVersions(ctx.pool, ctx.log);
  })();
  return sealed;
}

async function vacuum(pool: Pool): Promise<void> {
  await pool.query('VACUUM ANALYZE credential_versions');
}

/**
 * The baseline: the least a rewrap can do, in this process: keyset pages of the same size over the
 * same rows, SecretBox.rewrap (unwrap, authenticate the ciphertext, wrap: the same crypto as the
 * job) and one batched UPDATE per page, without transactions, compare-and-set, progress or failure
 * accounting. It rewraps under version 1 again, so the rows are left as the job will find them.
 */
async function rawRewrapLoop(pool: Pool, log: (m: string) => void): Promise<{ seconds: number; rows: number }> {
  // Version 3 too (current stays 1): on a reused database, records a previous run moved to 3 come back to 1.
  const box = new SecretBox(parseKeyring(KEK_ENV.KEYPLANE_MASTER_KEYS, 1));
  const started = performance.now();
  let after = '00000000-0000-0000-0000-000000000000';
  let n = 0;
  for (;;) {
    const { rows } = await pool.query<{ id: string; t: string; o: string; v: number; k: number; w: Buffer; c: Buffer }>(
      `SELECT id, tenant_id::text AS t, credential_id::text AS o, version AS v, kek_version AS k, wrapped_key AS w, ciphertext AS c
         FROM credential_versions WHERE kek_version IS NOT NULL AND id > $1 ORDER BY id LIMIT $2`,
      [after, REWRAP_PAGE_SIZE],
    );
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    const ids: string[] = [];
    const wrapped: Buffer[] = [];
    for (const r of rows) {
      try {
        const next = await box.rewrap(
          { kekVersion: r.k, wrappedKey: r.w, ciphertext: r.c },
          SEALS.credentialVersion.context({ tenantId: r.t, objectId: r.o, version: r.v }),
        );
        ids.push(r.id);
        wrapped.push(next.wrappedKey);
      } catch {
        // Rows of other scenarios' tenants that do not open here: the job counts them, the loop skips them.
      }
    }
    await pool.query(
      `UPDATE credential_versions s SET kek_version = 1, wrapped_key = u.w FROM unnest($1::uuid[], $2::bytea[]) AS u(id, w) WHERE s.id = u.id`,
      [ids, wrapped],
    );
    n += rows.length;
    if (n % 100_000 < REWRAP_PAGE_SIZE) log(`  ${n.toLocaleString('en-US')} rows (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return { seconds: (performance.now() - started) / 1000, rows: n };
}

/** createCredential at a steady rate on `api`, `runs` times; p99 is the median run's. */
async function createLoad(ctx: Ctx, api: Server, t: { tenantId: string; token: string }, tag: string, runs: number): Promise<RunResult[]> {
  let n = 0;
  const load: HttpLoad = {
    ...graphqlLoad(
      `${api.url}/graphql`,
      t.token,
      CREATE,
      () => ({ input: { tenantId: t.tenantId, providerId: ctx.openai.id, label: `${tag}-${n}`, secret: benchKey(tag, n++) } }),
      LOAD.connections,
      (b) => b.includes('"userErrors":[]'),
    ),
    overallRate: LOAD.overallRate,
  };
  const out: RunResult[] = [];
  for (let i = 0; i < runs; i++) out.push(await httpRun(load, ctx.o.runS, api.child));
  return out;
}

async function waitForRun(ctx: Ctx, runId: string, worker: Child, timeoutMs: number): Promise<{ state: string; progress: any }> {
  const started = performance.now();
  const until = started + timeoutMs;
  let logged = started;
  for (;;) {
    worker.assertAlive();
    const { rows } = await ctx.pool.query('SELECT state, progress FROM key_rewrap_runs WHERE id = $1', [runId]);
    if (rows[0] && (rows[0].state === 'COMPLETED' || rows[0].state === 'FAILED')) return rows[0];
    if (performance.now() - logged > 20_000) {
      logged = performance.now();
      ctx.log(`  ${rows[0]?.progress?.pages ?? 0} pages committed (${((logged - started) / 1000).toFixed(0)} s)`);
    }
    if (performance.now() > until) throw new Error(`rewrap ${runId} did not finish in ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

const single = (o: Omit<Figure, 'status' | 'subject'> & { rss?: number | null }): Figure => ({
  status: 'measured',
  ...o,
  subject: { runs: [], rate: NaN, rateMin: NaN, rateMax: NaN, p50: NaN, p99: NaN, peakRssMb: o.rss ?? null, failed: 0 },
});

export const keyRewrapMillion: Scenario = {
  id: 'key-rewrap-1m',
  full: true,
  async run(ctx) {
    await ensureSealedMillion(ctx);
    await vacuum(ctx.pool);
    const [{ n: total }] = (await ctx.pool.query('SELECT count(*)::int AS n FROM credential_versions WHERE kek_version IS NOT NULL')).rows;
    ctx.log(`raw rewrap loop over ${total.toLocaleString('en-US')} sealed versions (baseline, in the bench process)`);
    const raw = await rawRewrapLoop(ctx.pool, ctx.log);
    ctx.log(`  ${raw.seconds.toFixed(1)} s, ${Math.round(raw.rows / raw.seconds).toLocaleString('en-US')} rows/s`);
    await vacuum(ctx.pool);

    await settleOutbox(ctx);
    const fake = await startScript<{ ready: boolean; baseUrl: string }>('fake-provider-custody', 'servers/fake-provider.js', []);
    const { rows: provider } = await ctx.pool.query('SELECT base_url FROM providers WHERE id = $1', [ctx.openai.id]);
    // Keys created during the measurement are validated by the worker: against the fake, never the internet.
    await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, fake.ready.baseUrl]);
    const children: Child[] = [fake.child];
    const prefix = `${RUN_PREFIX}-rewrap`;
    try {
      // Two-phase, as the runbook says: both processes hold version 3, and it is current in both.
      const api = await startApi('api-custody', { env: KEK_ENV });
      children.push(api.child);
      const worker = await startWorker('worker-rewrap', prefix, KEK_ENV);
      children.push(worker);
      const t = await tenantWithToken(api.url, ctx.adminToken, 'custody');
      ctx.log(`createCredential idle: ${LOAD.overallRate} req/s on ${LOAD.connections} connections`);
      await createLoad(ctx, api, t, 'cw', 1);
      const idle = summarize(await createLoad(ctx, api, t, 'ci', ctx.o.runs));
      ctx.log(`  p50 ${idle.p50.toFixed(1)} ms, p99 ${idle.p99.toFixed(1)} ms`);

      ctx.log(`rewrap of every sealed record to KEK ${NEW_KEK} through the worker, createCredential during it`);
      const peak = rssPeak(worker.pid);
      const started = performance.now();
      const r = await gql(api.url, ctx.adminToken, 'mutation { startKeyRewrap(input: { reason: "bench" }) { jobId userErrors { code } } }');
      const runId: string = r.startKeyRewrap.jobId;
      if (!runId) throw new Error(`startKeyRewrap refused: ${JSON.stringify(r.startKeyRewrap.userErrors)}`);
      const finished = waitForRun(ctx, runId, worker, 900_000);
      // Let the job get going before timing requests against it.
      await sleep(2_000);
      const during = summarize(await createLoad(ctx, api, t, 'cd', ctx.o.runs));
      const run = await finished;
      const seconds = (performance.now() - started) / 1000;
      const rss = peak.stop();
      if (run.state !== 'COMPLETED') throw new Error(`the rewrap ended ${run.state}: ${run.progress?.reason ?? ''}`);
      const left = await ctx.pool.query('SELECT count(*)::int AS n FROM credential_versions WHERE kek_version <> $1', [NEW_KEK]);
      const counts = Object.values(run.progress.kinds as Record<string, { byVersion: Record<string, { rewrapped: number; failed: number }> }>)
        .flatMap((k) => Object.values(k.byVersion))
        .reduce((a, c) => ({ rewrapped: a.rewrapped + c.rewrapped, failed: a.failed + c.failed }), { rewrapped: 0, failed: 0 });
      ctx.log(
        `  ${seconds.toFixed(1)} s, ${counts.rewrapped.toLocaleString('en-US')} rewrapped, ${counts.failed} failed, ` +
          `${left.rows[0].n} versions left under another KEK, worker peak RSS ${rss?.toFixed(0)} MB; ` +
          `createCredential p50 ${during.p50.toFixed(1)} ms, p99 ${during.p99.toFixed(1)} ms`,
      );
      if (counts.failed > 0 || left.rows[0].n > 0) throw new Error(`${counts.failed} records failed, ${left.rows[0].n} left under another KEK`);
      const rawRate = raw.rows / raw.seconds;
      const jobRate = counts.rewrapped / seconds;
      return [
        single({
          id: 'key-rewrap-1m',
          title: `Master key rewrap, ${ROWS} sealed credential versions (local KEK), start to finish`,
          unit: 's',
          value: seconds,
          rss,
          baselineTitle: 'raw loop: page SELECT, unwrap+wrap, batched UPDATE, same rows (rate ratio)',
          baselineValue: raw.seconds,
          ratio: jobRate / rawRate,
          targets: [
            { label: `<= ${REWRAP_LIMIT_S} s`, met: seconds <= REWRAP_LIMIT_S },
            { label: `worker RSS <= ${RSS_LIMIT_MB} MB`, met: rss !== null && rss <= RSS_LIMIT_MB },
          ],
        }),
        {
          id: 'key-rewrap-1m-api',
          title: `createCredential during the rewrap vs idle (${LOAD.overallRate} req/s, ${LOAD.connections} connections)`,
          status: 'measured',
          unit: 'req/s',
          subject: during,
          baselineTitle: 'same API, no rewrap running (p99 ratio = during / idle)',
          baseline: idle,
          ratio: during.p99 / idle.p99,
          targets: [{ label: `p99 <= ${P99_FACTOR}x idle`, met: during.p99 <= P99_FACTOR * idle.p99 }],
        },
      ];
    } finally {
      for (const c of children.reverse()) await c.stop();
      await benchQueues(prefix).close();
      await ctx.pool.query('UPDATE providers SET base_url = $2 WHERE id = $1', [ctx.openai.id, provider[0].base_url]);
    }
  },
};

export const pepperRekeyMillion: Scenario = {
  id: 'pepper-rekey-1m',
  full: true,
  async run(ctx) {
    await ensureSealedMillion(ctx);
    await vacuum(ctx.pool);
    await settleOutbox(ctx);
    const [{ n: total }] = (
      await ctx.pool.query('SELECT count(*)::int AS n FROM credential_versions WHERE fingerprint IS NOT NULL AND pepper_version <> 2')
    ).rows;
    ctx.log(`pepper rekey of ${total.toLocaleString('en-US')} fingerprints to pepper 2 through the worker`);
    const prefix = `${RUN_PREFIX}-rekey`;
    // KEK 1 and 3: records are under 3 after key-rewrap-1m, under 1 when this runs alone.
    const worker = await startWorker('worker-rekey', prefix, { ...KEK_ENV, ...PEPPER_ENV });
    const q = benchQueues(prefix);
    try {
      const peak = rssPeak(worker.pid);
      const started = performance.now();
      const requestedAt = new Date().toISOString();
      await q.queues.maintenance.add('fingerprint-rekey', { requestedAt }, { jobId: `fingerprint-rekey-bench-${Date.now()}` });
      let summary: { rekeyed: number; failed: number; left: number } | null = null;
      for (;;) {
        worker.assertAlive();
        const jobs = await q.queues.maintenance.getJobs(['completed', 'failed']);
        const job = jobs.find((j) => j.name === 'fingerprint-rekey');
        if (job?.failedReason) throw new Error(`the rekey job failed: ${job.failedReason}`);
        if (job?.returnvalue) {
          summary = job.returnvalue;
          break;
        }
        if (performance.now() - started > 900_000) throw new Error('the rekey did not finish in 15 minutes');
        await sleep(100);
      }
      const seconds = (performance.now() - started) / 1000;
      const rss = peak.stop();
      ctx.log(
        `  ${seconds.toFixed(1)} s, ${summary!.rekeyed.toLocaleString('en-US')} rekeyed, ${summary!.failed} failed, ${summary!.left} left, worker peak RSS ${rss?.toFixed(0)} MB`,
      );
      if (summary!.left > 0 || summary!.failed > 0) throw new Error(`${summary!.failed} keys failed, ${summary!.left} left under an old pepper`);
      return [
        single({
          id: 'pepper-rekey-1m',
          title: `Fingerprint pepper rekey, ${ROWS} credential versions, start to finish`,
          unit: 's',
          value: seconds,
          rss,
          targets: [
            { label: `<= ${REKEY_LIMIT_S} s`, met: seconds <= REKEY_LIMIT_S },
            { label: `worker RSS <= ${RSS_LIMIT_MB} MB`, met: rss !== null && rss <= RSS_LIMIT_MB },
          ],
        }),
      ];
    } finally {
      await worker.stop();
      await q.close();
    }
  },
};
