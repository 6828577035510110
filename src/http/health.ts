import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';

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
 * PostgreSQL `SELECT 1` and Redis `PING`. The Redis connection is the API's fail-fast one
 * (no offline queue), so a PING while Redis is down fails at once instead of waiting.
 */
export function registerHealthRoutes(app: FastifyInstance, db: DataSource, redis: Pick<Redis, 'ping'>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const [postgres, redisCheck] = await Promise.all([check(() => db.query('SELECT 1')), check(() => redis.ping())]);
    const checks = { postgres, redis: redisCheck };
    const ready = postgres === 'ok' && redisCheck === 'ok';
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ok' : 'unavailable', checks });
  });
}
