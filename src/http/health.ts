import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import type { ReplicaRouter } from '../db/replicas';
import type { QueueBackend } from '../queue/backend';

/** A readiness probe must answer quickly even when a dependency hangs rather than refuses. */
const CHECK_TIMEOUT_MS = 1_000;

async function check(work: () => Promise<unknown>): Promise<'ok' | 'failed'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([work(), timeout]);
    return 'ok';
  } catch {
    return 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /healthz: the process answers. /readyz: its dependencies answer too (load balancers use this):
 * PostgreSQL `SELECT 1` and the queue backend's ping, named after its engine (`redis`, or `queue`
 * for BullMQ's schema on PostgreSQL). The backend's connection is the fail-fast one (no offline
 * queue), so a ping while the store is down fails at once instead of waiting. Read replicas
 * (`replica-0`, ...: ok, lagging or down) are listed but never make the API unready.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  db: DataSource,
  backend: Pick<QueueBackend, 'ping' | 'kind'>,
  replicas: Pick<ReplicaRouter, 'status'> | null = null,
): void {
  const queueCheck = backend.kind === 'redis' ? 'redis' : 'queue';
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const [postgres, queue] = await Promise.all([check(() => db.query('SELECT 1')), check(() => backend.ping())]);
    // Replicas are reported, never required: reads fall back to the primary (docs/scale.md).
    const checks = { postgres, [queueCheck]: queue, ...replicas?.status() };
    const ready = postgres === 'ok' && queue === 'ok';
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ok' : 'unavailable', checks });
  });
}
