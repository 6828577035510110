import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import { safeEqual } from '../crypto';
import type { AuthService } from '../modules/auth/auth.service';
import { bearerToken } from '../modules/auth/bearer';
import type { SecurityEvents } from '../modules/security/security-events';

/** What an ops caller may do: the platform admin token has full access, the ops token reads. */
export type OpsAccess = 'full' | 'read-only';

const CHALLENGE = 'Basic realm="keyplane", charset="UTF-8"';

/**
 * The token from `Authorization: Bearer <token>`, or from HTTP Basic where the password is the
 * token (a browser cannot send a Bearer header when it navigates to the dashboard). The Basic
 * user name is ignored.
 */
export function presentedToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const bearer = bearerToken(authorization);
  if (bearer) return bearer;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null;
}

/**
 * Guards the queue dashboard and /metrics. Tenant tokens are valid but not enough (403): these
 * pages show every tenant's job ids. Tokens are compared in constant time.
 */
export function createOpsGuard(
  config: Pick<Config, 'adminToken' | 'opsReadonlyToken'>,
  auth: Pick<AuthService, 'authenticate'>,
  security: Pick<SecurityEvents, 'authFailed'>,
) {
  return async function opsAccess(request: FastifyRequest, reply: FastifyReply): Promise<OpsAccess | null> {
    const token = presentedToken(request.headers.authorization);
    if (token !== null) {
      if (safeEqual(token, config.adminToken)) return 'full';
      if (config.opsReadonlyToken && safeEqual(token, config.opsReadonlyToken)) return 'read-only';
      const actor = await auth.authenticate(`Bearer ${token}`).catch(() => null);
      if (actor) {
        await reply.code(403).send({ error: 'FORBIDDEN', message: 'This page needs the platform admin or ops token.' });
        return null;
      }
      security.authFailed(request.ip, 'ops');
    }
    await reply
      .code(401)
      .header('www-authenticate', CHALLENGE)
      .send({ error: 'UNAUTHENTICATED', message: 'Send the platform admin or ops token (Bearer, or as the Basic password).' });
    return null;
  };
}

export type OpsGuard = ReturnType<typeof createOpsGuard>;
