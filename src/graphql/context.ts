import { AccessError } from '../errors';
import type { Actor } from '../modules/auth/actor';
import type { Loaders } from './loaders';

export interface GraphQLContext {
  actor: Actor | null;
  requestId: string;
  loaders: Loaders;
  /** The largest `first` a list accepts (config); checked by the @Page() arguments. */
  pageSizeMax: number;
}

/** The caller, after the auth checker has run; fails closed if a resolver forgot @Authorized. */
export function actorOf(ctx: GraphQLContext): Actor {
  if (!ctx.actor) throw new AccessError('UNAUTHENTICATED', 'Authentication is required.');
  return ctx.actor;
}
