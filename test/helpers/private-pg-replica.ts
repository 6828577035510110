import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './private-redis';

const run = promisify(execFile);

/**
 * A PostgreSQL primary and a streaming replica of the test's own, on free loopback ports in a
 * temporary folder: `initdb` for the primary, `pg_basebackup -R` for the replica (as users build
 * one). The shared server on 5432 is never touched. The binaries come from KEYPLANE_TEST_PG_BIN,
 * else the newest /usr/lib/postgresql/<n>/bin (Debian's layout, which .ci/run installs), else PATH.
 * As root they run as the `postgres` OS user (initdb refuses root).
 */
export interface PrivatePgPair {
  primaryUrl: string;
  replicaUrl: string;
  /** postgres:// URL of another database on the primary (`postgres` by default). */
  primaryUrlFor(database: string): string;
  replicaUrlFor(database: string): string;
  /** Pause or resume WAL replay on the replica (pg_wal_replay_pause / _resume). */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Resolves once the replica has replayed everything the primary had written when called. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  /** Stops both servers and removes the folder. */
  close(): Promise<void>;
}

function pgBin(): string {
  if (process.env.KEYPLANE_TEST_PG_BIN) return process.env.KEYPLANE_TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'pg_basebackup')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(root, versions[0], 'bin');
  }
  return '';
}

const asRoot = userInfo().uid === 0;

async function pg(bin: string, tool: string, args: string[]): Promise<string> {
  const path = bin ? join(bin, tool) : tool;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  const { stdout } = await run(file, argv, { env: { ...process.env, LC_ALL: 'C' }, timeout: 60_000 });
  return stdout;
}

/** Small, fast, loopback only; durability does not matter for a test. */
function serverOptions(port: number, socketDir: string): string {
  return [
    `-p ${port}`,
    `-k ${socketDir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c shared_buffers=16MB',
    '-c max_connections=60',
    '-c wal_level=replica',
    '-c max_wal_senders=4',
    '-c hot_standby=on',
    // Reads on the replica are never cancelled by replay while a test runs.
    '-c max_standby_streaming_delay=-1',
  ].join(' ');
}

export async function startPrivatePgPair(): Promise<PrivatePgPair> {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'keyplane-pg-'));
  if (asRoot) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const urlFor = (port: number) => (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const primaryUrlFor = urlFor(primaryPort);
  const replicaUrlFor = urlFor(replicaPort);

  const ctl = (data: string, port: number, action: 'start' | 'stop') =>
    action === 'start'
      ? pg(bin, 'pg_ctl', ['-D', data, '-l', `${data}.log`, '-w', '-t', '60', '-o', serverOptions(port, dir), 'start'])
      : pg(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => '');

  await pg(bin, 'initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  await ctl(primaryDir, primaryPort, 'start');
  let replicaRunning = false;
  try {
    await pg(bin, 'pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]);
    await ctl(replicaDir, replicaPort, 'start');
    replicaRunning = true;
  } catch (error) {
    await ctl(primaryDir, primaryPort, 'stop');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const once = async <T>(url: string, sql: string): Promise<T[]> => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const pair: PrivatePgPair = {
    primaryUrl: primaryUrlFor('postgres'),
    replicaUrl: replicaUrlFor('postgres'),
    primaryUrlFor,
    replicaUrlFor,
    pauseReplay: async () => void (await once(pair.replicaUrl, 'SELECT pg_wal_replay_pause()')),
    resumeReplay: async () => void (await once(pair.replicaUrl, 'SELECT pg_wal_replay_resume()')),
    async caughtUp(timeoutMs = 10_000) {
      const [{ lsn }] = await once<{ lsn: string }>(pair.primaryUrl, 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await once<{ done: boolean }>(pair.replicaUrl, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS done`);
        if (row.done) return;
        if (Date.now() > deadline) throw new Error('the replica did not catch up');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stopReplica() {
      await ctl(replicaDir, replicaPort, 'stop');
      replicaRunning = false;
    },
    async startReplica() {
      await ctl(replicaDir, replicaPort, 'start');
      replicaRunning = true;
    },
    async close() {
      if (replicaRunning) await ctl(replicaDir, replicaPort, 'stop');
      await ctl(primaryDir, primaryPort, 'stop');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pair;
}

function uidOf(user: string): number {
  return Number(require('node:child_process').execFileSync('id', ['-u', user]).toString().trim());
}

function gidOf(user: string): number {
  return Number(require('node:child_process').execFileSync('id', ['-g', user]).toString().trim());
}
