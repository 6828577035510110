import { writeFileSync } from 'node:fs';
import { ConfigError, embeddedPostgresSettingsFromEnv } from '../config';
import { EmbeddedPostgresError, startEmbeddedPostgres } from './embedded-postgres';

/** The longest the database waits for the API and workers after a Ctrl-C before it stops anyway. */
const DRAIN_WAIT_MS = 40_000;

/**
 * `npm start` runs this when DATABASE_URL is unset (scripts/start.sh): it starts the embedded
 * PostgreSQL, writes its URL to the file named by argv[2] (mode 0600: it holds the password) once
 * it accepts connections, and stops it cleanly last, after the API and workers have drained.
 *
 * Ctrl-C reaches every process of the terminal's group at once, this one included, while the API
 * and workers still need the database to finish their work. So SIGINT, SIGTERM and SIGHUP only
 * start a wait: the database stops on SIGUSR2 (start.sh, once the others exited), when start.sh
 * itself is gone, or after DRAIN_WAIT_MS.
 */
async function main(): Promise<void> {
  const readyFile = process.argv[2];
  const settings = embeddedPostgresSettingsFromEnv();
  const pg = await startEmbeddedPostgres(settings, (line) => process.stdout.write(`embedded-postgres: ${line}\n`));
  process.stdout.write(`embedded-postgres: PostgreSQL ready on 127.0.0.1:${pg.port}, data in ${pg.dataDir}\n`);
  if (readyFile) writeFileSync(readyFile, pg.url + '\n', { mode: 0o600 });
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`embedded-postgres: ${why}: stopping PostgreSQL\n`);
    await pg.stop();
    process.exit(0);
  };
  // embedded-postgres stops its servers on these signals itself (async-exit-hook), which would pull
  // the database from under the draining API and workers: our handlers replace its.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => {
      const timer = setTimeout(() => void stop(`${signal}, and nothing stopped it within ${DRAIN_WAIT_MS / 1000} s`), DRAIN_WAIT_MS);
      timer.unref();
    });
  }
  process.on('SIGUSR2', () => void stop('the API and workers have stopped'));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('npm start is gone');
  }, 500).unref();
  await pg.exited;
  if (!stopping) {
    process.stderr.write('embedded-postgres: PostgreSQL stopped unexpectedly\n');
    process.exit(1);
  }
}

main().catch((error: Error) => {
  const known = error instanceof EmbeddedPostgresError || error instanceof ConfigError;
  process.stderr.write(`embedded-postgres: ${known ? error.message : `failed to start: ${error.message}`}\n`);
  process.exit(known ? 78 : 1);
});
