import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { GqlResult } from './test-app';
import { TEST_DATABASE_URL, TEST_ENV } from './test-env';
import { freePort } from './private-redis';

/**
 * The API and the worker as real processes (the entrypoints a deployment runs), for tests of what
 * only processes can show: signals, crashes, Redis outages, and everything they print.
 */
const ROOT = resolve(__dirname, '../..');
const ADMIN_TOKEN = TEST_ENV.KEYPLANE_ADMIN_TOKEN;
const children = new Set<ChildProcess>();

/**
 * The processes run compiled JavaScript, like `npm run build` output, emitted without type checking
 * (transpile-only: decorator metadata is kept) into node_modules/.cache, so packages resolve as from
 * dist/. Built once per source state and reused: starting from ts-node costs seconds per process.
 */
let built: string | null = null;
function buildDir(): string {
  if (built && existsSync(join(built, '.complete'))) return built;
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|json)$/.test(entry.name)) hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  for (const dir of ['src', 'workers', 'migrations']) walk(join(ROOT, dir));
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) hash.update(readFileSync(join(ROOT, file)));
  const cache = join(ROOT, 'node_modules', '.cache', 'keyplane-e2e');
  const out = join(cache, hash.digest('hex').slice(0, 16));
  if (!existsSync(join(out, '.complete'))) {
    mkdirSync(cache, { recursive: true });
    // Builds of older sources unused for an hour go (each use touches its directory).
    for (const old of readdirSync(cache)) {
      const path = join(cache, old);
      if (Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    }
    const tmp = `${out}.tmp-${process.pid}`;
    const tsc = spawnSync(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--noCheck',
        '--outDir',
        tmp,
        '--sourceMap',
        'false',
        '--incremental',
        'false',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const emitted = ['src/main.js', 'workers/main.js'].every((f) => existsSync(join(tmp, f)));
    if (!emitted) throw new Error(`tsc emitted no entrypoints (exit ${tsc.status}):\n${tsc.stdout}${tsc.stderr}`);
    writeFileSync(join(tmp, '.complete'), '');
    try {
      renameSync(tmp, out); // atomic; another run may have finished the same build first
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  utimesSync(out, new Date(), new Date()); // in use: not old
  return (built = out);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal (or stop request) to the exit. */
  ms: number;
}

export interface KeyplaneProcess {
  name: string;
  pid: number;
  /** Every line the process wrote to stdout or stderr, in order (for leak scans and assertions). */
  lines: string[];
  /** Resolves with the first line matching, waiting up to `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`, reported as such). */
  stop(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL: no shutdown hooks, no lock release, like a crashed host. */
  kill(): Promise<Exit>;
  /** Any signal, then wait for the exit (SIGKILL after `timeoutMs`). */
  signal(sig: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
  readonly exited: Exit | null;
}

export interface ApiProcess extends KeyplaneProcess {
  url: string;
  /** Every raw GraphQL response body, for leak scans. */
  responses: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GqlResult<T>>;
}

/** The fixed test configuration plus what these processes need; `env` wins. */
export function processEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...TEST_ENV,
    DATABASE_URL: TEST_DATABASE_URL,
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    DATABASE_POOL_SIZE: '4',
    // Several workers may run at once; none should fight over the default metrics port.
    WORKER_METRICS_PORT: '0',
    // Longer than the fake provider's scripted delays, so a slow answer is not a timeout.
    PROVIDER_TIMEOUT_MS: '8000',
    ...env,
  };
}

function spawnKeyplane(name: string, entry: string, env: Record<string, string>, args: string[] = []): KeyplaneProcess & { proc: ChildProcess } {
  const proc = spawn(process.execPath, [join(buildDir(), entry), ...args], {
    cwd: ROOT,
    env: processEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let exited: Exit | null = null;
  let signalledAt = 0;
  // 'close' rather than 'exit': by then stdout and stderr are drained, so `lines` is complete.
  const exit = new Promise<Exit>((done) =>
    proc.once('close', (code, signal) => {
      children.delete(proc);
      exited = { code, signal, ms: signalledAt ? Date.now() - signalledAt : 0 };
      done(exited);
    }),
  );
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        for (const w of [...waiters]) {
          if (!w.pattern.test(line)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    stream.on('end', () => rest && lines.push(rest));
  }
  const signal = async (sig: NodeJS.Signals, timeoutMs: number): Promise<Exit> => {
    if (exited) return exited;
    signalledAt = Date.now();
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    const result = await exit;
    clearTimeout(timer);
    return result;
  };
  return {
    name,
    proc,
    pid: proc.pid!,
    lines,
    get exited() {
      return exited;
    },
    waitForLine(pattern, timeoutMs = 15_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolveLine, reject) => {
        const waiter = { pattern, resolve: (line: string) => (clearTimeout(timer), resolveLine(line)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.slice(-20).join('\n')}`));
        }, timeoutMs);
        waiters.push(waiter);
        void exit.then((e) => {
          if (!waiters.includes(waiter)) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${name} exited (${e.code ?? e.signal}) before ${pattern}; output:\n${lines.slice(-20).join('\n')}`));
        });
      });
    },
    stop: (timeoutMs = 20_000) => signal('SIGTERM', timeoutMs),
    kill: () => signal('SIGKILL', 5_000),
    signal: (sig: NodeJS.Signals, timeoutMs = 20_000) => signal(sig, timeoutMs),
  };
}

/** The worker process (relay + BullMQ workers); resolves once it logged that it started. */
export async function startWorkerProcess(env: { QUEUE_PREFIX: string } & Record<string, string>, name = 'worker') {
  const worker = spawnKeyplane(name, 'workers/main.js', env);
  await worker.waitForLine(/keyplane worker started/, 30_000);
  return worker;
}

/**
 * The embedded PostgreSQL supervisor `npm start` runs (src/embedded/main.ts). Resolves once it
 * wrote its URL (or exited: then `url` is null and the process's output says why).
 */
export async function startEmbeddedPostgresProcess(env: Record<string, string>, name = 'embedded-postgres') {
  const readyFile = join(mkdtempSync(join(tmpdir(), 'kp-ready-')), 'url');
  const proc = spawnKeyplane(name, 'src/embedded/main.js', env, [readyFile]);
  const until = Date.now() + 60_000;
  while (!existsSync(readyFile) && !proc.exited && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const url = existsSync(readyFile) ? readFileSync(readyFile, 'utf8').trim() : null;
  return Object.assign(proc, { url });
}

/** The API process on a free loopback port; resolves once GET /healthz answers. */
export async function startApiProcess(env: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await freePort();
  const api = spawnKeyplane('api', 'src/main.js', { ...env, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (api.exited) throw new Error(`api exited on start:\n${api.lines.join('\n')}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > until) throw new Error(`api did not answer /healthz:\n${api.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const responses: string[] = [];
  return Object.assign(api, {
    url,
    responses,
    async gql(query: string, variables: Record<string, unknown> = {}, token: string | null = ADMIN_TOKEN) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const raw = await res.text();
      responses.push(raw);
      const body = JSON.parse(raw);
      return { status: res.status, data: body.data, errors: body.errors, raw };
    },
  });
}

/** For afterEach/afterAll: SIGKILLs every API and worker process still running, even after a failed test. */
export async function killAllProcesses(): Promise<void> {
  await Promise.all(
    [...children].map(
      (proc) =>
        new Promise<void>((done) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return done();
          proc.once('exit', () => done());
          proc.kill('SIGKILL');
        }),
    ),
  );
}

// Last resort if jest itself is interrupted: never leave a worker polling a test database.
process.once('exit', () => {
  for (const proc of children) proc.kill('SIGKILL');
});
