import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { Audit } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { AuditActor } from '../auth/actor';
import { Provider } from '../provider/provider.type';
import type { PlatformKeyEntity } from './platform-key.entity';
import { CreatePlatformKeyInput, PlatformKey, PlatformKeyPayload, RevokePlatformKeyInput } from './platform-key.type';

/** Entity -> API shape: the sealed columns can never reach the schema. */
export function toPlatformKey(k: PlatformKeyEntity): PlatformKey {
  return {
    id: k.id,
    providerId: k.providerId,
    label: k.label,
    priority: k.priority,
    redactedKey: k.redactedKey,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
  };
}

export type PlatformKeyResolverDeps = Pick<Services, 'platformKeys'>;

@Resolver(() => PlatformKey)
export class PlatformKeyResolver {
  constructor(private readonly s: PlatformKeyResolverDeps) {}

  @Authorized('PLATFORM_ADMIN')
  @Query(() => [PlatformKey], { description: 'Platform keys, by provider then priority, revoked ones included. Platform admins only.' })
  async platformKeys(@Arg('providerId', () => ID, { nullable: true, description: 'Only this provider.' }) providerId?: string) {
    return (await this.s.platformKeys.list(providerId)).map(toPlatformKey);
  }

  @FieldResolver(() => Provider, { description: 'The provider this key is for.' })
  provider(@Root() k: PlatformKey, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.provider.load(k.providerId);
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => PlatformKeyPayload, {
    description: 'Add a platform key. BUNDLED and HYBRID gateways reload. Platform admins only.',
  })
  createPlatformKey(@Arg('input') input: CreatePlatformKeyInput, @Audit() audit: AuditActor) {
    return mutate(async () => ({
      platformKey: toPlatformKey(await this.s.platformKeys.create(audit, input)),
    }));
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => PlatformKeyPayload, {
    description: 'Revoke a platform key and destroy its material. Gateways reload without it. Platform admins only.',
  })
  revokePlatformKey(@Arg('input') input: RevokePlatformKeyInput, @Audit() audit: AuditActor) {
    return mutate(async () => ({
      platformKey: toPlatformKey(await this.s.platformKeys.revoke(audit, input.id)),
    }));
  }
}
