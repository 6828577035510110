import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import { closeQueues, createQueues } from '../queue/queues';
import type { Services } from '../services';
import { registerDashboard } from './dashboard';
import { registerHealthRoutes } from './health';
import { createApiMetrics, instrumentHttp, registerMetricsRoute, type HttpObserver } from './metrics';
import { createOpsGuard } from './ops-auth';
import { sealedRecordsGauge } from '../modules/key-custody/sealed-metric';
import { exporterCheck, registerOutboxGauges, registerQueueGauges } from '../queue/queue-metrics';
import { GaugeLease } from '../queue/gauge-lease';

export interface OpsDeps {
  config: Readonly<Config>;
  db: DataSource;
  services: Pick<Services, 'auth' | 'security' | 'outboundFailures' | 'queueBackend'> & Partial<Pick<Services, 'replicas'>>;
  log: Logger;
}

/**
 * The API's operational surface: readiness, metrics and the queue dashboard, with the queue
 * views they need, closed with the server. Call it before the GraphQL routes are registered,
 * so the HTTP metrics hook covers every route.
 */
export async function registerOps(
  app: FastifyInstance,
  { config, db, services, log }: OpsDeps,
): Promise<{ apolloPlugin: ApolloServerPlugin; observeHttp: HttpObserver; countSubscription: (result: 'success' | 'error') => void }> {
  // Views of the workers' queues for readiness, the dashboard and queue gauges, on the backend's
  // fail-fast producer connection (a request never hangs on a store that is down); views write
  // nothing at start.
  const backend = services.queueBackend;
  const queues = createQueues(backend, { view: true });
  for (const queue of Object.values(queues)) queue.on('error', () => undefined); // the backend logs, throttled

  const metrics = createApiMetrics();
  const observeHttp = instrumentHttp(app, metrics.registry);
  metrics.registry.registerMetric(services.security.metric);
  // Queue depth and outbox lag: exported by one process of the deployment at a time (gauge-lease.ts).
  const lease = new GaugeLease(db, config.queue.prefix);
  const exporter = exporterCheck(metrics.registry, lease);
  registerQueueGauges(metrics.registry, queues, log, () => backend.connected(), exporter);
  registerOutboxGauges(metrics.registry, db, log, exporter);
  metrics.registry.registerMetric(services.outboundFailures);
  metrics.registry.registerMetric(sealedRecordsGauge(db, log));
  for (const metric of Object.values(services.replicas?.metrics ?? {})) metrics.registry.registerMetric(metric);

  const guard = createOpsGuard(config, services.auth, services.security);
  registerHealthRoutes(app, db, backend, services.replicas ?? null);
  registerMetricsRoute(app, metrics.registry, guard);
  await registerDashboard(app, queues, guard, services.security);

  // After the HTTP server has drained (WebSockets close in preClose).
  app.addHook('onClose', async () => {
    await closeQueues(queues).catch(() => undefined);
    await lease.release();
  });
  return { apolloPlugin: metrics.apolloPlugin, observeHttp, countSubscription: (result) => metrics.countOperation('subscription', result) };
}
