import 'reflect-metadata';
// First, before the modules it instruments load (a no-op without OTEL_EXPORTER_OTLP_ENDPOINT).
import { shutdownTracing, startTracingFromEnv } from './tracing';
startTracingFromEnv('keyplane-api');
import { createApp } from './app';
import { describeDatabaseUrl } from './config-values';
import { exitOnStartFailure, loadConfigOrExit, onShutdown } from './lifecycle';
import { createLogger } from './logger';
import { logOutboundPolicy } from './outbound';

async function main(): Promise<void> {
  const config = loadConfigOrExit('keyplane');
  const log = createLogger(config.logLevel);
  logOutboundPolicy(config, log);
  const app = await createApp(config, log);
  await app.server.listen({ host: config.host, port: config.port });
  log.info(
    { port: config.port, database: describeDatabaseUrl(config.databaseUrl), queues: app.services.queueBackend.where },
    'keyplane API listening',
  );
  // Drains in-flight HTTP requests (Apollo drain plugin), then closes the pool.
  onShutdown(log, 15_000, async () => {
    await app.close();
    await shutdownTracing();
  });
}

main().catch(exitOnStartFailure('keyplane'));
