import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { RESULTS_DIR } from './env';

/** A process under test or a baseline. Output goes to bench/results/logs/<name>.log. */
export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Set when the process exited without being asked to: a crash, which the harness reports. */
  crashed: string | null;
  /** Last lines of output, printed when something goes wrong. */
  tail(): string;
  stop(): Promise<void>;
  /** Throws if the process died. */
  assertAlive(): void;
}

const running = new Set<Child>();

export function spawnNode(
  name: string,
  script: string,
  options: { args?: string[]; env: Record<string, string>; nodeArgs?: string[]; ipc?: boolean; oneShot?: boolean },
): Child {
  mkdirSync(resolve(RESULTS_DIR, 'logs'), { recursive: true });
  const log = createWriteStream(resolve(RESULTS_DIR, 'logs', `${name}.log`), { flags: 'a' });
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...(options.args ?? [])], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  if (!proc.pid) throw new Error(`could not start ${name}`);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let stopping = false;
  const exited = new Promise<void>((done) =>
    proc.on('exit', (code, signal) => {
      running.delete(child);
      // A one-shot script may end by itself, but only successfully.
      if (!stopping && !(options.oneShot && code === 0)) child.crashed = `${name} exited unexpectedly (code ${code}, signal ${signal})`;
      log.end();
      done();
    }),
  );
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    exited,
    crashed: null,
    tail: () => lines.join('\n'),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      stopping = true;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    assertAlive() {
      if (child.crashed) throw new Error(`${child.crashed}\n${child.tail()}`);
    },
  };
  running.add(child);
  return child;
}

/** Stops every child still running (on exit, error or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export function rssMb(pid: number): number | null {
  const kb = statusKb(pid, 'VmRSS');
  return kb === null ? null : kb / 1024;
}

/**
 * Peak RSS over a window: resets the kernel's high-water mark (clear_refs 5) and also polls VmRSS,
 * in case the reset is not permitted.
 */
export function rssPeak(pid: number): { stop(): number | null } {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not permitted here: the polled maximum stands alone.
  }
  let polled = statusKb(pid, 'VmRSS') ?? 0;
  const timer = setInterval(() => {
    polled = Math.max(polled, statusKb(pid, 'VmRSS') ?? 0);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      const peak = Math.max(polled, statusKb(pid, 'VmHWM') ?? 0);
      return peak > 0 ? peak / 1024 : null;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until the URL answers with `status`, or fails (with the child's output) after `timeoutMs`. */
export async function waitForHttp(url: string, child: Child, init: RequestInit = {}, status = 200, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    child.assertAlive();
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === status) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${child.name} did not answer ${url} in time\n${child.tail()}`);
    await sleep(100);
  }
}

/** Waits for the first IPC message of a child (baselines report their port or result this way). */
export function firstMessage<T>(child: Child, timeoutMs = 30_000): Promise<T> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${child.name} sent nothing in time\n${child.tail()}`)), timeoutMs);
    child.proc.once('message', (m) => {
      clearTimeout(timer);
      done(m as T);
    });
    child.proc.once('exit', () => {
      clearTimeout(timer);
      fail(new Error(`${child.name} exited before reporting\n${child.tail()}`));
    });
  });
}
