import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Fixed bench-only settings. The secrets protect nothing (a throwaway database on loopback); fixed
 * values keep runs repeatable. Every load goes to 127.0.0.1.
 */
function findRoot(dir: string): string {
  // package-lock.json, not package.json: the build copies package.json into dist/ (src/http/openapi.ts reads its version).
  return existsSync(resolve(dir, 'package-lock.json')) || dirname(dir) === dir ? dir : findRoot(dirname(dir));
}
/** The repository root, whether this runs compiled (dist/bench/...) or not. */
export const ROOT = findRoot(__dirname);
export const DIST = resolve(ROOT, 'dist');
export const RESULTS_DIR = resolve(ROOT, 'bench', 'results');

export const BENCH_DB = process.env.KEYPLANE_BENCH_DB ?? 'keyplane_bench';
export const PG_ADMIN_URL = process.env.KEYPLANE_BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const BENCH_DATABASE_URL = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${BENCH_DB}`);
export const REDIS_URL = process.env.KEYPLANE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const ADMIN_TOKEN = 'bench-platform-admin-token-0123456789abcdef';
export const MASTER_KEYS = `1:${Buffer.alloc(32, 9).toString('base64')}`;
export const AUDIT_SIGNING_KEYS = `1:${Buffer.alloc(32, 4).toString('base64')}`;
export const FINGERPRINT_KEY = 'bench-fingerprint-pepper-0123456789abcdef';

/** One prefix per harness run; every queue this run creates lives under it and is obliterated at the end. */
export const RUN_PREFIX = `kp-bench-${randomBytes(4).toString('hex')}`;

/** Environment of the API and worker processes under test: production mode, quiet logs, loopback only. */
export function keyplaneEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    // KEYPLANE_BENCH_LOG_LEVEL=info measures with the per-request access lines written (docs/audit.md).
    LOG_LEVEL: process.env.KEYPLANE_BENCH_LOG_LEVEL ?? 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: BENCH_DATABASE_URL,
    QUEUE_BACKEND: 'redis',
    REDIS_URL,
    KEYPLANE_ADMIN_TOKEN: ADMIN_TOKEN,
    KEYPLANE_MASTER_KEYS: MASTER_KEYS,
    KEYPLANE_FINGERPRINT_KEY: FINGERPRINT_KEY,
    KEYPLANE_AUDIT_SIGNING_KEYS: AUDIT_SIGNING_KEYS,
    QUEUE_PREFIX: RUN_PREFIX,
    // The fake provider listens on loopback over http; ops would allow it the same way.
    OUTBOUND_ALLOW_DESTINATIONS: 'http://127.0.0.1:*',
    OUTBOUND_ALLOW_LOOPBACK: 'true',
    WORKER_METRICS_PORT: '0',
    // Benchmarks create thousands of keys with one token: they measure throughput, not the key-check limiter.
    KEY_CHECK_TENANT_LIMIT: '1000000',
    KEY_CHECK_TOKEN_LIMIT: '1000000',
    KEY_CHECKS_PER_REQUEST: '10',
    // Tracing on for a run (docs/observability.md "Cost"): point it at a collector, or a sink that drops spans.
    ...(process.env.KEYPLANE_BENCH_OTEL_ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.KEYPLANE_BENCH_OTEL_ENDPOINT } : {}),
    // Settings for one experiment, e.g. KEYPLANE_BENCH_ENV='{"OUTBOUND_PROVIDER_MAX_PER_TENANT":"50"}'.
    ...benchEnvOverrides(),
    ...extra,
  };
}

export interface Options {
  full: boolean;
  /** Scenario ids to run (empty: all of the selected set). */
  only: string[];
  runs: number;
  warmupS: number;
  runS: number;
  /** Start the API with --cpu-prof (profiles in bench/results/profiles). */
  profile: boolean;
  /** Keep the bench database at the end (to inspect it or EXPLAIN queries). */
  keepDb: boolean;
  /** Use the bench database a --keep-db run left (million-row data included) instead of building a fresh one; implies --keep-db. */
  reuseDb: boolean;
  connections: number;
}

export function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const hit = argv.find((a) => a.startsWith(`--${name}=`));
    return hit?.slice(name.length + 3);
  };
  const num = (name: string, fallback: number): number => {
    const raw = value(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  return {
    full: argv.includes('--full'),
    only: (value('only') ?? '').split(',').filter(Boolean),
    runs: Math.round(num('runs', 3)),
    warmupS: num('warmup', 2),
    runS: num('duration', 5),
    profile: argv.includes('--profile'),
    keepDb: argv.includes('--keep-db') || argv.includes('--reuse-db'),
    reuseDb: argv.includes('--reuse-db'),
    connections: Math.round(num('connections', 32)),
  };
}

/** KEYPLANE_BENCH_ENV: a JSON object of settings given to every process the bench starts (an experiment's knobs). */
function benchEnvOverrides(): Record<string, string> {
  const raw = process.env.KEYPLANE_BENCH_ENV;
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('KEYPLANE_BENCH_ENV must be a JSON object');
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}
