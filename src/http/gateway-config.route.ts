import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { HttpObserver } from './metrics';
import { KekUnavailableError, KeyVersionUnavailableError } from '../crypto';
import { DATABASE_RETRY_SECONDS, DATABASE_UNAVAILABLE_MESSAGE } from '../errors';
import {
  databaseUnavailable,
  KEK_UNAVAILABLE_MESSAGE,
  KEY_VERSION_RETRY_SECONDS,
  KEY_VERSION_UNAVAILABLE_MESSAGE,
  safeError,
} from '../graphql/errors';
import type { Services } from '../services';

export interface GatewayConfigRouteDeps {
  services: Pick<Services, 'gatewayConfig' | 'security'> & Partial<Pick<Services, 'invalidations'>>;
}

export const GATEWAY_CONFIG_PATH = '/v1/gateway/config';

/**
 * GET /v1/gateway/config: a gateway pulls its resolved provider keys with its own key
 * (`Authorization: Bearer kpg_…`). The body holds plaintext keys by design, so nothing here logs
 * the body, the header or the token, and errors carry no detail.
 */
export function registerGatewayConfigRoute(app: FastifyInstance, deps: GatewayConfigRouteDeps): void {
  app.get(GATEWAY_CONFIG_PATH, async (request, reply) => {
    // Credentials must never sit in a shared or browser cache, whatever the status.
    reply.header('cache-control', 'no-store');
    try {
      const ifNoneMatch = request.headers['if-none-match'];
      const result = await deps.services.gatewayConfig.pull(
        request.headers.authorization,
        Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch,
        String(request.id),
      );
      if (result.kind === 'UNAUTHENTICATED') {
        deps.services.security.authFailed(request.ip, 'gateway-config');
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="keyplane-gateway"')
          .send({ error: { code: 'UNAUTHENTICATED', message: 'A valid gateway key is required (Authorization: Bearer kpg_…).' } });
      }
      reply.header('etag', result.etag);
      if (result.kind === 'NOT_MODIFIED') return reply.code(304).send();
      return reply.code(200).send(result.body);
    } catch (error) {
      if (error instanceof KeyVersionUnavailableError) {
        // Never a config with the key left out: the gateway keeps its copy and asks again.
        const hsm = error instanceof KekUnavailableError;
        request.log.warn(
          hsm ? { kekVersion: error.kekVersion, reason: error.reason } : { kekVersion: error.kekVersion },
          hsm ? 'gateway config: key store unavailable' : 'gateway config: a served key is sealed under a key version this process lacks',
        );
        return reply
          .code(503)
          .header('retry-after', String(KEY_VERSION_RETRY_SECONDS))
          .send({ error: { code: 'SERVICE_UNAVAILABLE', message: hsm ? KEK_UNAVAILABLE_MESSAGE : KEY_VERSION_UNAVAILABLE_MESSAGE } });
      }
      if (databaseUnavailable(error, () => deps.services.invalidations?.listening === false)) {
        // Not served from memory either: while the invalidation listener is down nothing is (see
        // README, Read caches), so a revocation made meanwhile can never be missed. The gateway
        // keeps the config it has and asks again after Retry-After.
        request.log.warn('gateway config: database unreachable');
        return reply
          .code(503)
          .header('retry-after', String(DATABASE_RETRY_SECONDS))
          .send({ error: { code: 'SERVICE_UNAVAILABLE', message: DATABASE_UNAVAILABLE_MESSAGE } });
      }
      request.log.error({ err: safeError(error) }, 'gateway config pull failed');
      return reply.code(500).send({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error.' } });
    }
  });
}

/**
 * The common gateway poll (GET with an If-None-Match that still matches a config known in memory),
 * answered before fastify routes the request: the same 304, headers and metric as the route above,
 * with none of the routing, hooks and reply machinery, which cost more than the answer itself.
 * Returns false for anything else (a miss, a 200, a 401, a pull due to be recorded), which the
 * route above then handles. No CORS headers: gateways are servers, not browser pages.
 */
export function gatewayConfigFastPath(
  services: Pick<Services, 'gatewayConfig'>,
  observe: HttpObserver,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    if (url !== GATEWAY_CONFIG_PATH && !url.startsWith(`${GATEWAY_CONFIG_PATH}?`)) return false;
    const started = performance.now();
    const ifNoneMatch = req.headers['if-none-match'];
    const etag = services.gatewayConfig.knownNotModified(req.headers.authorization, Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch);
    if (etag === null) return false;
    res.writeHead(304, { 'cache-control': 'no-store', etag });
    res.end();
    observe('GET', GATEWAY_CONFIG_PATH, 304, (performance.now() - started) / 1000);
    return true;
  };
}
