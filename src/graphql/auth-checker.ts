import type { AuthChecker } from 'type-graphql';
import { AccessError } from '../errors';
import { hasRole, type Role } from '../modules/auth/actor';
import type { GraphQLContext } from './context';

/**
 * The one authorization rule: @Authorized() needs any valid token, @Authorized('ADMIN') a tenant
 * admin or a platform admin, @Authorized('PLATFORM_ADMIN') the platform admin token.
 * Tenant boundaries are enforced by the services' tenant filter, not here.
 */
export const authChecker: AuthChecker<GraphQLContext, Role> = ({ context }, roles) => {
  const actor = context.actor;
  if (!actor) throw new AccessError('UNAUTHENTICATED', 'Authentication is required.');
  if (roles.length === 0 || roles.some((role) => hasRole(actor, role))) return true;
  throw new AccessError('FORBIDDEN', 'Your token does not allow this operation.');
};
