import type { FastifyInstance } from 'fastify';
import { AccessError, BadRequestError, NotFoundError } from '../errors';
import { safeError } from '../graphql/errors';
import { EXPORT_PAGE_DEFAULT, EXPORT_PAGE_MAX, exportPage } from '../modules/audit/audit-export';
import type { Services } from '../services';
import { accessInfoOf, recordActor } from './access-log';

export interface AuditRoutesDeps {
  services: Pick<Services, 'auth' | 'security' | 'auditIntegrity'>;
  db: Parameters<typeof exportPage>[0];
}

export const AUDIT_KEYS_PATH = '/v1/audit/keys';
export const AUDIT_EXPORT_PATH = '/v1/audit/export';
/** Response header naming the cursor of the next page (absent on the last page). */
export const NEXT_CURSOR_HEADER = 'keyplane-next-cursor';

const error = (code: string, message: string) => ({ error: { code, message } });

/**
 * GET /v1/audit/keys: the public keys that verify audit checkpoints (no token: they are public).
 * GET /v1/audit/export?after=CURSOR&limit=N: the caller's tenant's audit chain as NDJSON, with a
 * tenant API token (docs/audit.md "Export").
 */
export function registerAuditRoutes(app: FastifyInstance, deps: AuditRoutesDeps): void {
  app.get(AUDIT_KEYS_PATH, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return reply.send({ algorithm: 'Ed25519', keys: deps.services.auditIntegrity.publicKeys() });
  });

  app.get<{ Querystring: { after?: string; limit?: string } }>(AUDIT_EXPORT_PATH, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    let actor;
    try {
      actor = await deps.services.auth.authenticate(request.headers.authorization);
    } catch (e) {
      if (!(e instanceof AccessError || e instanceof BadRequestError)) {
        request.log.error({ err: safeError(e) }, 'could not authenticate audit export');
        return reply.code(500).send(error('INTERNAL_SERVER_ERROR', 'Internal server error.'));
      }
      actor = null;
    }
    if (!actor) {
      deps.services.security.authFailed(request.ip, 'audit-export');
      return reply.code(401).send(error('UNAUTHENTICATED', 'A tenant API token is required (Authorization: Bearer kp_…).'));
    }
    recordActor(accessInfoOf(request), actor);
    if (actor.type !== 'API_TOKEN') return reply.code(403).send(error('FORBIDDEN', 'Exports are per tenant: use a tenant API token.'));
    const limitText = request.query.limit ?? String(EXPORT_PAGE_DEFAULT);
    const limit = Number(limitText);
    if (!/^[1-9][0-9]*$/.test(limitText) || limit > EXPORT_PAGE_MAX) {
      return reply.code(400).send(error('BAD_USER_INPUT', `"limit" must be from 1 to ${EXPORT_PAGE_MAX}.`));
    }
    try {
      const page = await exportPage(deps.db, actor.tenantId, request.query.after || null, limit);
      if (page.nextCursor) reply.header(NEXT_CURSOR_HEADER, page.nextCursor);
      return reply.code(200).type('application/x-ndjson; charset=utf-8').send(page.lines.join(''));
    } catch (e) {
      if (e instanceof NotFoundError) return reply.code(404).send(error('NOT_FOUND', e.message));
      request.log.error({ err: safeError(e) }, 'audit export failed');
      return reply.code(500).send(error('INTERNAL_SERVER_ERROR', 'Internal server error.'));
    }
  });
}
