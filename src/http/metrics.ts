import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { OpsGuard } from './ops-auth';

type OperationType = 'query' | 'mutation' | 'subscription' | 'unknown';

export interface ApiMetrics {
  /** One registry per API instance (tests run several in one process). */
  registry: Registry;
  countOperation(type: OperationType, result: 'success' | 'error'): void;
  /** Counts GraphQL operations over HTTP by type and outcome (never by name: clients choose names). */
  apolloPlugin: ApolloServerPlugin;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const operations = new Counter({
    name: 'keyplane_graphql_operations_total',
    help: 'GraphQL operations by type and outcome (error: the response carried errors).',
    labelNames: ['type', 'result'] as const,
    registers: [registry],
  });
  // A handful of label pairs: one child each, so a request only increments.
  const counters = new Map<string, Counter.Internal>();
  const countOperation = (type: OperationType, result: 'success' | 'error') => {
    const key = `${type} ${result}`;
    let child = counters.get(key);
    if (!child) counters.set(key, (child = operations.labels(type, result)));
    child.inc();
  };
  return {
    registry,
    countOperation,
    apolloPlugin: {
      async requestDidStart() {
        return {
          async willSendResponse({ operation, errors, response }) {
            const body = response.body;
            const failed = (errors?.length ?? 0) > 0 || (body.kind === 'single' && (body.singleResult.errors?.length ?? 0) > 0);
            countOperation(operation?.operation ?? 'unknown', failed ? 'error' : 'success');
          },
        };
      },
    },
  };
}

/**
 * HTTP request durations by route template and status. The template (`/admin/queues/api/queues/:queueName`),
 * never the raw URL, so ids in paths cannot become label values. Must run before other routes are
 * registered: fastify copies hooks into each plugin when it is registered.
 */
/** Records one request in the HTTP duration histogram (for answers sent outside fastify). */
export type HttpObserver = (method: string, route: string, statusCode: number, seconds: number) => void;

export function instrumentHttp(app: FastifyInstance, registry: Registry): HttpObserver {
  const duration = new Histogram({
    name: 'keyplane_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // One child per label combination (a handful: routes are templates), so a request only observes.
  const children = new Map<string, Histogram.Internal<'method' | 'route' | 'status_code'>>();
  const observe: HttpObserver = (method, route, statusCode, seconds) => {
    const key = `${method} ${statusCode} ${route}`;
    let child = children.get(key);
    if (!child) children.set(key, (child = duration.labels(method, route, String(statusCode))));
    child.observe(seconds);
  };
  app.addHook('onResponse', (request, reply, done) => {
    observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  return observe;
}

/** Prometheus text at /metrics, for the platform admin and the ops token only. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry, guard: OpsGuard): void {
  app.get('/metrics', async (request, reply) => {
    if (!(await guard(request, reply))) return reply;
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
