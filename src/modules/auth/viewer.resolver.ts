import { Authorized, Field, FieldResolver, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { constEnum } from '../../graphql/const-enum';
import { CurrentActor } from '../../graphql/params';
import type { Services } from '../../services';
import type { TenantEntity } from '../tenant/tenant.entity';
import { Tenant } from '../tenant/tenant.type';
import type { Actor, Role } from './actor';
import { TENANT_ROLES } from '../token/token.entity';

export const RoleEnum = constEnum(['PLATFORM_ADMIN', ...TENANT_ROLES] as const, {
  name: 'Role',
  description: 'The role of the calling token.',
  valuesConfig: {
    PLATFORM_ADMIN: { description: 'The platform operator: every tenant, platform keys, key custody.' },
    ADMIN: { description: "A tenant admin: manages the tenant's keys, gateways and tokens." },
    VIEWER: { description: "Reads the tenant's metadata; changes nothing." },
  },
});

@ObjectType({ simpleResolvers: true, description: 'The caller, as resolved from its token.' })
export class Viewer {
  @Field(() => RoleEnum, { description: 'What the token may do.' }) role!: Role;
  @Field({ description: 'Name of the token.' }) tokenName!: string;
  /** Not exposed: the `tenant` field resolver loads it only when selected. */
  tenantId!: string | null;
}

export type ViewerResolverDeps = Pick<Services, 'tenants'>;

@Resolver(() => Viewer)
export class ViewerResolver {
  constructor(private readonly s: ViewerResolverDeps) {}

  @Authorized()
  @Query(() => Viewer, { description: 'Who is calling.' })
  viewer(@CurrentActor() actor: Actor): Viewer {
    return { role: actor.role, tokenName: actor.name, tenantId: actor.tenantId };
  }

  // A field resolver, so `{ viewer { role } }` costs no query beyond the token lookup.
  @FieldResolver(() => Tenant, { nullable: true, description: "The token's tenant; null for the platform admin." })
  async tenant(@Root() viewer: Viewer): Promise<TenantEntity | null> {
    return viewer.tenantId ? this.s.tenants.get(viewer.tenantId) : null;
  }
}
