import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import { auditActor } from '../auth/actor';
import {
  CreateTenantInput,
  CreateTenantPayload,
  RevertToPlatformKeysInput,
  RevertToPlatformKeysPayload,
  Tenant,
  TenantConnection,
  UpdateTenantInput,
  UpdateTenantPayload,
} from './tenant.type';

@Resolver(() => Tenant)
export class TenantResolver {
  constructor(
    private readonly s: Services,
    private readonly pageMax: (first: number) => void,
  ) {}

  @Authorized('PLATFORM_ADMIN')
  @Query(() => TenantConnection, { description: 'All tenants (platform admins only).' })
  async tenants(@Args() page: PageArgsInput) {
    this.pageMax(page.first);
    return toConnection(await this.s.tenants.list(page));
  }

  @Authorized()
  @Query(() => Tenant, { description: 'One tenant. A tenant token can only read its own.' })
  async tenant(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.s.tenants.get(await this.s.scope.forTenant(actorOf(ctx), id));
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => CreateTenantPayload, { description: 'Create a tenant (platform admins only).' })
  createTenant(@Arg('input') input: CreateTenantInput, @Ctx() ctx: GraphQLContext) {
    return mutate(async () => ({ tenant: await this.s.tenants.create(auditActor(actorOf(ctx), ctx.requestId), input) }));
  }

  @Authorized('ADMIN')
  @Mutation(() => UpdateTenantPayload, { description: 'Rename a tenant, change its BYOK mode, rotation policy or notification webhook.' })
  updateTenant(@Arg('input') input: UpdateTenantInput, @Ctx() ctx: GraphQLContext) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actorOf(ctx), input.id, ['input', 'id']);
      return this.s.tenants.update(tenantId, auditActor(actorOf(ctx), ctx.requestId), input);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => RevertToPlatformKeysPayload, {
    description: 'Switch a tenant to platform keys, revoking and destroying all of its stored keys. Audited.',
  })
  revertToPlatformKeys(@Arg('input') input: RevertToPlatformKeysInput, @Ctx() ctx: GraphQLContext) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actorOf(ctx), input.tenantId, ['input', 'tenantId']);
      return this.s.revert.revertToPlatformKeys(tenantId, auditActor(actorOf(ctx), ctx.requestId), input.confirm);
    });
  }
}
