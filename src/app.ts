import 'reflect-metadata';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { fingerprinterFor, type Config } from './config';
import { SecretBox } from './crypto';
import { openKekRing } from './modules/key-custody/kek-ring';
import { assertKeyCustody } from './modules/key-custody/startup-check';
import { createDataSource } from './db/data-source';
import { buildServer } from './http/server';
import { pinBuiltInHosts } from './modules/provider/provider-hosts';
import { createServices, type Services } from './services';

export interface App {
  server: FastifyInstance;
  db: DataSource;
  services: Services;
  close(): Promise<void>;
}

/** Everything the API process runs, without listening: main.ts and the tests both start it this way. */
export async function createApp(config: Readonly<Config>, log: Logger): Promise<App> {
  const db = createDataSource(config.databaseUrl, config.databasePoolSize, { replicated: config.databaseReplicas !== null });
  await db.initialize();
  // Before serving: a built-in provider's host is operator configuration, never an earlier API call.
  await pinBuiltInHosts(db, config.providerBaseUrls, log);
  // Fail closed before serving: the HSM (if any) answers with every key, every KEK version in use is
  // in the keyring, and every key opens its check value.
  const keks = await openKekRing(config, log).catch(async (error) => {
    await db.destroy();
    throw error;
  });
  const box = new SecretBox(keks);
  await assertKeyCustody(db, box, log, { generatedKeys: config.masterKeysGenerated, fingerprinter: fingerprinterFor(config) }).catch(
    async (error) => {
      await keks.close();
      await db.destroy();
      throw error;
    },
  );
  const services = createServices(config, db, log, box);
  // A queue store this BullMQ cannot use (an unmigrated or newer schema) stops the start here.
  await services.queueBackend.assertUsable();
  await services.invalidations.start();
  // Replicas are measured from here on; until a probe finds one fresh, reads stay on the primary.
  services.replicas?.attach(db);
  services.replicas?.start();
  // Not required: without its store the key-check limits hold per process (src/modules/key-check).
  await services.keyCheckStore.ready(2_000);
  const server = await buildServer({ config, db, services, log });
  return {
    server,
    db,
    services,
    async close() {
      // WebSockets close first (preClose), HTTP drains, then the ops Redis connections (onClose);
      // live event streams end once no socket can read them.
      await server.close();
      await services.events.close();
      await services.keyRescans.close();
      await services.webhookQueues.close();
      await services.invalidations.close();
      await services.replicas?.close();
      await services.security.flush();
      await services.keyCheckStore.close();
      await services.queueBackend.close();
      await db.destroy();
      await keks.close();
    },
  };
}
