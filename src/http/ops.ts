import type { ApolloServerPlugin } from '@apollo/server';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import { createRedis } from '../queue/connection';
import { closeQueues, DEFAULT_JOB_OPTIONS, type Queues } from '../queue/queues';
import { QUEUES } from '../queue/registry';
import type { Services } from '../services';
import { registerDashboard } from './dashboard';
import { registerHealthRoutes } from './health';
import { createApiMetrics, instrumentHttp, registerMetricsRoute, type HttpObserver } from './metrics';
import { createOpsGuard } from './ops-auth';
import { sealedRecordsGauge } from '../modules/key-custody/sealed-metric';
import { registerOutboxGauges, registerQueueGauges } from '../queue/queue-metrics';

export interface OpsDeps {
  config: Readonly<Config>;
  db: DataSource;
  services: Pick<Services, 'auth' | 'security' | 'outboundFailures'>;
  log: Logger;
}

/** ioredis reports every failed reconnect; a line a minute is enough to see Redis is down. */
function throttledWarn(log: Logger, message: string) {
  let last = 0;
  return (error: Error) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    log.warn({ err: { name: error.name, message: error.message } }, message);
  };
}

/**
 * The API's operational surface: readiness, metrics and the queue dashboard, with the Redis
 * connection they need, closed with the server. Call it before the GraphQL routes are registered,
 * so the HTTP metrics hook covers every route.
 */
export async function registerOps(
  app: FastifyInstance,
  { config, db, services, log }: OpsDeps,
): Promise<{ apolloPlugin: ApolloServerPlugin; observeHttp: HttpObserver; countSubscription: (result: 'success' | 'error') => void }> {
  // One ordinary connection for PING, the dashboard and queue gauges. The fail-fast producer
  // settings (no offline queue) keep /readyz, /metrics and dashboard requests from hanging while
  // Redis is down; the worker settings would wait forever. Pub/sub has its own (services.events).
  const redis: Redis = createRedis(config.redisUrl, 'producer');
  redis.on('error', throttledWarn(log, 'Redis unreachable (readiness, metrics, dashboard)'));
  // Views of the workers' queues: skipMetasUpdate, so starting an API writes nothing to Redis.
  const queues = Object.fromEntries(
    QUEUES.map((name) => [
      name,
      new Queue(name, { connection: redis, prefix: config.queue.prefix, skipMetasUpdate: true, defaultJobOptions: DEFAULT_JOB_OPTIONS }),
    ]),
  ) as Queues;
  const queueError = throttledWarn(log, 'queue connection problem');
  for (const queue of Object.values(queues)) queue.on('error', queueError);

  const metrics = createApiMetrics();
  const observeHttp = instrumentHttp(app, metrics.registry);
  metrics.registry.registerMetric(services.security.metric);
  registerQueueGauges(metrics.registry, queues, log, () => redis.status === 'ready');
  registerOutboxGauges(metrics.registry, db, log);
  metrics.registry.registerMetric(services.outboundFailures);
  metrics.registry.registerMetric(sealedRecordsGauge(db, log));

  const guard = createOpsGuard(config, services.auth, services.security);
  registerHealthRoutes(app, db, redis);
  registerMetricsRoute(app, metrics.registry, guard);
  await registerDashboard(app, queues, guard, services.security);

  // After the HTTP server has drained (WebSockets close in preClose).
  app.addHook('onClose', async () => {
    await closeQueues(queues).catch(() => undefined);
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  });
  return { apolloPlugin: metrics.apolloPlugin, observeHttp, countSubscription: (result) => metrics.countOperation('subscription', result) };
}
