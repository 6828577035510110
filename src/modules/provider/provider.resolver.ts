import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import { auditActor } from '../auth/actor';
import { Provider, TestProviderKeyInput, TestProviderKeyPayload, UpsertProviderInput, UpsertProviderPayload } from './provider.type';

@Resolver(() => Provider)
export class ProviderResolver {
  constructor(private readonly s: Services) {}

  @Authorized()
  @Query(() => [Provider], { description: 'The provider catalog, by name.' })
  providers() {
    return this.s.providers.list();
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => UpsertProviderPayload, {
    description: 'Add a custom provider or change one (base URL, format rule) without a release. Platform admins only.',
  })
  upsertProvider(@Arg('input') input: UpsertProviderInput, @Ctx() ctx: GraphQLContext) {
    return mutate(async () => ({ provider: await this.s.providers.upsert(auditActor(actorOf(ctx), ctx.requestId), input) }));
  }

  @Authorized('ADMIN')
  @Mutation(() => TestProviderKeyPayload, {
    description: 'Check a key against its provider without storing it. Waits for the provider, with a timeout.',
  })
  testProviderKey(@Arg('input') input: TestProviderKeyInput, @Ctx() ctx: GraphQLContext) {
    const actor = actorOf(ctx);
    return mutate(async () => ({
      result: await this.s.keyTest.test(actor.tenantId, auditActor(actor, ctx.requestId), input.providerId, input.secret),
    }));
  }
}
