import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AccessError } from '../../errors';
import type { GraphQLContext } from '../../graphql/context';
import { Audit, CurrentActor } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import { ConfirmProviderHostInput, ConfirmProviderHostPayload, ProviderHostStatus } from './host-confirmation.type';
import { Provider } from './provider.type';

export type HostConfirmationResolverDeps = Pick<Services, 'scope' | 'hostConfirmations'>;

@Resolver(() => ProviderHostStatus)
export class HostConfirmationResolver {
  constructor(private readonly s: HostConfirmationResolverDeps) {}

  @Authorized()
  @Query(() => [ProviderHostStatus], { description: 'Providers the tenant holds keys of, with the host its keys may be sent to.' })
  async providerHosts(@Arg('tenantId', () => ID) tenantId: string, @CurrentActor() actor: Actor) {
    return this.s.hostConfirmations.list(await this.s.scope.forTenant(actor, tenantId));
  }

  @FieldResolver(() => Provider, { description: 'The provider.' })
  provider(@Root() h: ProviderHostStatus, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.provider.load(h.providerId);
  }

  @Authorized('ADMIN')
  @Mutation(() => ConfirmProviderHostPayload, {
    description: "Release the tenant's keys of a provider to its current host after a host change. Tenant admins only.",
  })
  async confirmProviderHost(@Arg('input') input: ConfirmProviderHostInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    // The consent is the tenant's: the platform role that can change a host cannot also approve it.
    if (actor.type !== 'API_TOKEN') throw new AccessError('FORBIDDEN', 'Your token does not allow this operation.');
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.tenantId, ['input', 'tenantId']);
      return { hostStatus: await this.s.hostConfirmations.confirm(tenantId, audit, input.providerId, input.baseUrl) };
    });
  }
}
