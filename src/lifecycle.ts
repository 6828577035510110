import { ConfigError, loadConfig, type Config } from './config';
import type { Logger } from './logger';

/** Loads config for an entrypoint, or exits with EX_CONFIG naming the problem (never a value). */
export function loadConfigOrExit(name: string): Readonly<Config> {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits; exits non-zero if it takes longer than `graceMs`. */
export function onShutdown(log: Logger, graceMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), graceMs).unref();
    await stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void handle('SIGTERM'));
  process.on('SIGINT', () => void handle('SIGINT'));
}

export function exitOnStartFailure(name: string) {
  return (error: unknown) => {
    process.stderr.write(`${name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  };
}
