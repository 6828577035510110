import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';

/** /healthz: the process answers. /readyz: its dependencies answer too (load balancers use this). */
export function registerHealthRoutes(app: FastifyInstance, db: DataSource): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, 'ok' | 'failed'> = {};
    try {
      await db.query('SELECT 1');
      checks.postgres = 'ok';
    } catch {
      checks.postgres = 'failed';
    }
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });
}
