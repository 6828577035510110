import { Arg, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import { Audit, CurrentActor } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import { Provider, TestProviderKeyInput, TestProviderKeyPayload, UpsertProviderInput, UpsertProviderPayload } from './provider.type';

export type ProviderResolverDeps = Pick<Services, 'providers' | 'keyTest'>;

@Resolver(() => Provider)
export class ProviderResolver {
  constructor(private readonly s: ProviderResolverDeps) {}

  @Authorized()
  @Query(() => [Provider], { description: 'The provider catalog, by name.' })
  providers() {
    return this.s.providers.list();
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => UpsertProviderPayload, {
    description: 'Add a custom provider or change one (base URL, format rule) without a release. Platform admins only.',
  })
  upsertProvider(@Arg('input') input: UpsertProviderInput, @Audit() audit: AuditActor) {
    return mutate(async () => ({ provider: await this.s.providers.upsert(audit, input) }));
  }

  @Authorized('ADMIN')
  @Mutation(() => TestProviderKeyPayload, {
    description: 'Check a key against its provider without storing it. Waits for the provider, with a timeout.',
  })
  testProviderKey(@Arg('input') input: TestProviderKeyInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => ({ result: await this.s.keyTest.test(actor.tenantId, audit, input.providerId, input.secret) }));
  }
}
