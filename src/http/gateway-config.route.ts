import type { FastifyInstance } from 'fastify';
import { safeError } from '../graphql/errors';
import type { Services } from '../services';

export interface GatewayConfigRouteDeps {
  services: Pick<Services, 'gatewayConfig'>;
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
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="keyplane-gateway"')
          .send({ error: { code: 'UNAUTHENTICATED', message: 'A valid gateway key is required (Authorization: Bearer kpg_…).' } });
      }
      reply.header('etag', result.etag);
      if (result.kind === 'NOT_MODIFIED') return reply.code(304).send();
      return reply.code(200).send(result.body);
    } catch (error) {
      request.log.error({ err: safeError(error) }, 'gateway config pull failed');
      return reply.code(500).send({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error.' } });
    }
  });
}
