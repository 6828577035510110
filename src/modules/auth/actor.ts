import type { TenantRole } from '../token/token.entity';

export type Role = 'PLATFORM_ADMIN' | TenantRole;

/** Who is calling, resolved once per request from the bearer token. */
export type Actor =
  | { type: 'PLATFORM_ADMIN'; id: 'platform-admin'; tenantId: null; role: 'PLATFORM_ADMIN'; name: string }
  | { type: 'API_TOKEN'; id: string; tenantId: string; role: TenantRole; name: string };

/** What an audit row needs to know about the caller. */
export interface AuditActor {
  type: 'PLATFORM_ADMIN' | 'API_TOKEN' | 'SYSTEM';
  id: string | null;
  requestId: string | null;
}

/** Keyplane itself (sweeps, validation outcomes, host changes): no token and no request behind it. */
export const SYSTEM_ACTOR: Readonly<AuditActor> = Object.freeze({ type: 'SYSTEM', id: null, requestId: null });

export function auditActor(actor: Actor, requestId: string | null): AuditActor {
  return { type: actor.type, id: actor.id, requestId };
}

/** Role order: a platform admin can do what a tenant admin can, who can do what a viewer can. */
const RANK: Record<Role, number> = { VIEWER: 1, ADMIN: 2, PLATFORM_ADMIN: 3 };

export function hasRole(actor: Actor, required: Role): boolean {
  return RANK[actor.role] >= RANK[required];
}
