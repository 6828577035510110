/**
 * `npm run bench` (quick set) and `npm run bench -- --full` (adds the million-row figures).
 * Every figure is printed next to a baseline measured in the same run on the same machine.
 * Benchmarks never fail on a timing; a crash or a wrong answer is an error and the exit code says so.
 * Options: --only=id,id  --runs=3  --duration=5  --warmup=2  --connections=32  --profile  --keep-db  --reuse-db
 */
import 'reflect-metadata';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { benchDatabaseExists, benchPool, createBenchDatabase, dropBenchDatabase, providerId } from './harness/db';
import { ADMIN_TOKEN, BENCH_DB, parseOptions, RESULTS_DIR, RUN_PREFIX } from './harness/env';
import { benchQueues, profiling, startApi } from './harness/keyplane';
import { stopAll } from './harness/proc';
import { describeMachine, machine, table, writeResults, type Figure } from './harness/report';
import type { Ctx, Scenario } from './scenarios/context';
import { createCredential } from './scenarios/create-credential';
import { gatewayConfig } from './scenarios/gateway-config';
import { graphqlHttp } from './scenarios/graphql-http';
import { idleRss } from './scenarios/idle-rss';
import { integrations } from './scenarios/integrations';
import { validationJobs } from './scenarios/validation-jobs';
import { queueBackends } from './scenarios/queue-backends';
import { noisyNeighbour } from './scenarios/noisy-neighbour';
import { kekProviders } from './scenarios/kek-providers';
import { FULL_SCENARIOS } from './scenarios/full';
import { REUSED_DB_ENV } from './scenarios/key-custody';

// kekProviders last: it starts an API with an HSM key version and removes what it sealed under it.
const QUICK: Scenario[] = [
  idleRss,
  graphqlHttp,
  integrations,
  createCredential,
  validationJobs,
  gatewayConfig,
  queueBackends,
  noisyNeighbour,
  kekProviders,
];

const log = (message: string) => process.stdout.write(`${message}\n`);

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const all = [...QUICK, ...FULL_SCENARIOS];
  const unknown = o.only.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}`);
  // --only names scenarios explicitly (a million-row one included); otherwise --full adds those.
  const selected = all.filter((s) => (o.only.length ? o.only.includes(s.id) : !s.full || o.full));
  const m = { ...machine(), loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))) };
  log(`keyplane bench (${o.full ? 'full' : 'quick'}): ${describeMachine(m)}`);
  log(`load average at start: ${m.loadAverageAtStart.join(' ')} (other processes on this machine skew absolute figures; ratios less so)`);
  log(`database ${BENCH_DB}, queue prefix ${RUN_PREFIX}; ${o.runs} runs of ${o.runS} s after ${o.warmupS} s warm-up, ${o.connections} connections`);
  const started = Date.now();
  rmSync(resolve(RESULTS_DIR, 'logs'), { recursive: true, force: true });
  if (o.reuseDb && (await benchDatabaseExists())) log(`reusing database ${BENCH_DB} (--reuse-db)`);
  else await createBenchDatabase();
  let pool: Pool | null = null;
  const figures: Figure[] = [];
  let errors = 0;
  try {
    pool = benchPool();
    profiling.on = o.profile;
    const api = await startApi('api', o.reuseDb ? { env: REUSED_DB_ENV } : {});
    const ctx: Ctx = { o, log, pool, api, adminToken: ADMIN_TOKEN, openai: await providerId(pool, 'openai') };
    for (const scenario of selected) {
      try {
        figures.push(...(await scenario.run(ctx)));
      } catch (error) {
        errors++;
        const message = error instanceof Error ? error.message : String(error);
        log(`scenario ${scenario.id} failed: ${message}`);
        figures.push({ id: scenario.id, title: scenario.id, status: 'error', note: message.split('\n')[0], unit: '', targets: [] });
        if (api.child.crashed) throw new Error(`${api.child.crashed}\n${api.child.tail()}`);
      }
    }
  } finally {
    await stopAll();
    await pool?.end();
    // The API registers queues under the run prefix too (metrics, dashboard): leave nothing in Redis.
    await benchQueues(RUN_PREFIX).close();
    if (!o.keepDb) await dropBenchDatabase();
  }
  log('');
  log(table(figures));
  const file = writeResults(figures, {
    loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
    date: new Date().toISOString(),
    mode: o.full ? 'full' : 'quick',
    options: o,
    machine: m,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  log(`\nresults: ${file} (${Math.round((Date.now() - started) / 1000)} s)`);
  if (o.profile) log('CPU profiles of the API and workers: bench/results/profiles/ (summarise: node dist/bench/profile-summary.js <file>)');
  return errors > 0 ? 1 : 0;
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping child processes, dropping the bench database');
  void stopAll()
    .then(() => (process.argv.includes('--keep-db') ? undefined : dropBenchDatabase()))
    .finally(() => process.exit(130));
});

main().then(
  (code) => process.exit(code),
  async (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    await stopAll();
    process.exit(1);
  },
);
