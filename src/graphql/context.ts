import { AccessError } from '../errors';
import type { Actor } from '../modules/auth/actor';
import type { Loaders } from './loaders';

/**
 * What the access line of one request says beyond HTTP (docs/audit.md "Request logs"), filled by
 * the context (who) and the access-log plugin (which operation): src/http/access-log.ts.
 */
export interface AccessInfo {
  actorType: 'PLATFORM_ADMIN' | 'API_TOKEN' | null;
  tenantId: string | null;
  tokenId: string | null;
  operationName: string | null;
  operationType: string | null;
}

export interface GraphQLContext {
  actor: Actor | null;
  requestId: string;
  loaders: Loaders;
  /** The largest `first` a list accepts (config); checked by the @Page() arguments. */
  pageSizeMax: number;
  /** This request's access-log record (HTTP only; subscriptions over WebSocket have none). */
  access?: AccessInfo;
}

/** The caller, after the auth checker has run; fails closed if a resolver forgot @Authorized. */
export function actorOf(ctx: GraphQLContext): Actor {
  if (!ctx.actor) throw new AccessError('UNAUTHENTICATED', 'Authentication is required.');
  return ctx.actor;
}
