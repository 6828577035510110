import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SecurityEvents } from '../modules/security/security-events';
import type { Queues } from '../queue/queues';
import type { OpsAccess, OpsGuard } from './ops-auth';

export const DASHBOARD_PATH = '/admin/queues';
/** The read-only board. Its own mount, because bull-board's read-only mode is fixed per queue adapter. */
export const READ_ONLY_DASHBOARD_PATH = `${DASHBOARD_PATH}/read-only`;

const READ_METHODS = new Set(['GET', 'HEAD']);

function board(queues: Queues, prefix: string, readOnlyMode: boolean): FastifyAdapter {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(prefix);
  createBullBoard({
    queues: Object.values(queues).map((q) => new BullMQAdapter(q, { readOnlyMode, allowRetries: !readOnlyMode })),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: readOnlyMode ? 'Keyplane queues (read-only)' : 'Keyplane queues',
        // BullMQ's completed/failed counters per queue; the job scheduler page is always on.
        showMetrics: true,
        hideDocsLink: true,
        environment: readOnlyMode ? { label: 'read-only', color: '#64748b' } : undefined,
      },
    },
  });
  return serverAdapter;
}

/**
 * bull-board at /admin/queues behind Keyplane's ops auth. The platform admin token gets the full
 * board; the ops token gets a read-only board at /admin/queues/read-only (its page loads there are
 * redirected to it). Read-only is enforced on the server twice: the ops token cannot reach the
 * full board's API at all, and the read-only board refuses every non-GET request before
 * bull-board's own readOnlyMode check would.
 */
export async function registerDashboard(
  app: FastifyInstance,
  queues: Queues,
  guard: OpsGuard,
  security: Pick<SecurityEvents, 'record'>,
): Promise<void> {
  // The read-only token trying to change a queue: the UI never offers it, so someone tried by hand.
  const readOnlyWrite = (request: FastifyRequest, reply: FastifyReply, message: string) => {
    security.record({
      kind: 'READONLY_WRITE_ATTEMPT',
      targetType: 'queue-dashboard',
      details: { method: request.method, source: request.ip },
      throttleKey: request.ip,
    });
    return reply.code(403).send({ error: 'FORBIDDEN', message });
  };
  const full = board(queues, DASHBOARD_PATH, false);
  const readOnly = board(queues, READ_ONLY_DASHBOARD_PATH, true);

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const access = await guard(request, reply);
      if (!access) return reply;
      if (access === 'read-only') return toReadOnly(request, reply, readOnlyWrite);
    });
    await scope.register(full.registerPlugin(), { prefix: DASHBOARD_PATH });
  });

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const access: OpsAccess | null = await guard(request, reply);
      if (!access) return reply;
      if (!READ_METHODS.has(request.method)) {
        if (access === 'read-only') return readOnlyWrite(request, reply, 'This dashboard is read-only.');
        return reply.code(403).send({ error: 'FORBIDDEN', message: 'This dashboard is read-only.' });
      }
    });
    await scope.register(readOnly.registerPlugin(), { prefix: READ_ONLY_DASHBOARD_PATH });
  });
}

/** The ops token on the full board: pages move to the read-only board, its API is refused. */
function toReadOnly(
  request: FastifyRequest,
  reply: FastifyReply,
  refuse: (request: FastifyRequest, reply: FastifyReply, message: string) => FastifyReply,
) {
  const path = request.url.slice(DASHBOARD_PATH.length);
  const read = READ_METHODS.has(request.method);
  if (read && path.startsWith('/static/')) return; // the UI's own scripts and styles
  if (read && !path.startsWith('/api/')) return reply.redirect(`${READ_ONLY_DASHBOARD_PATH}${path}`, 302);
  if (read) return reply.code(403).send({ error: 'FORBIDDEN', message: `The ops token is read-only; use ${READ_ONLY_DASHBOARD_PATH}.` });
  return refuse(request, reply, `The ops token is read-only; use ${READ_ONLY_DASHBOARD_PATH}.`);
}
