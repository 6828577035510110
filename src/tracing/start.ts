import { ConfigError, tracingSettingsFromEnv } from '../config';
import type { Tracing } from './setup';

let running: Tracing | null = null;

/**
 * Called by each entrypoint before it imports anything that opens connections: the
 * instrumentations wrap pg, ioredis, graphql, fastify and http as they load, so they must be
 * registered first. Without OTEL_EXPORTER_OTLP_ENDPOINT this reads three variables and returns;
 * the SDK is not even loaded.
 */
export function startTracingFromEnv(defaultServiceName: string): void {
  let settings;
  try {
    settings = tracingSettingsFromEnv();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${defaultServiceName}: ${error.message}\n`);
    process.exit(78); // EX_CONFIG, as loadConfigOrExit
  }
  if (!settings.endpoint || running) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing is on
  const { startTracing } = require('./setup') as typeof import('./setup');
  running = startTracing({ serviceName: settings.serviceName ?? defaultServiceName, endpoint: settings.endpoint, sampleRatio: settings.sampleRatio });
}

/** Sends the spans still buffered (at shutdown, after the process drained). */
export async function shutdownTracing(): Promise<void> {
  const tracing = running;
  running = null;
  await tracing?.shutdown();
}
