import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';

/**
 * A redis-server of the test's own on a free loopback port, so a test can stop and restart Redis
 * (and read every key in it) without touching the shared Redis on 6379. No persistence: a restart
 * comes back empty, as after losing a cache node.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** True between start() and stop(). */
  readonly running: boolean;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
  /** Starts again on the same port. */
  start(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const started = new Set<ChildProcess>();

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    if (child) throw new Error('private redis already running');
    output = '';
    // A full sync to a replica still writes an RDB file: into the temp folder, never the checkout.
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--dir',
      tmpdir(),
      '--dbfilename',
      `keyplane-private-redis-${port}.rdb`,
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child = proc;
    started.add(proc);
    proc.once('exit', () => started.delete(proc));
    await waitForPing(
      port,
      () => proc.exitCode !== null,
      () => output,
    );
  };

  const stop = async () => {
    const proc = child;
    if (!proc) return;
    child = null;
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null;
    },
    stop,
    start,
  };
}

/** For afterAll: kills every redis-server these helpers started that is still alive. */
export async function killAllPrivateRedis(): Promise<void> {
  await Promise.all(
    [...started].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGKILL');
        }),
    ),
  );
}

/** Waits until the server answers PING on the raw protocol (no client library, no retries queued). */
async function waitForPing(port: number, died: () => boolean, output: () => string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (died()) throw new Error(`redis-server exited on start: ${output()}`);
    if (await ping(port)) return;
    if (Date.now() > until) throw new Error(`redis-server did not answer on port ${port}: ${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

// Last resort if jest itself is interrupted: never leave a private redis-server behind.
process.once('exit', () => {
  for (const proc of started) proc.kill('SIGKILL');
});
