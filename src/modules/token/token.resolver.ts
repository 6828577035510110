import { Arg, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { Audit, CurrentActor, Page } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import { ApiToken, ApiTokenConnection, CreateApiTokenInput, CreateApiTokenPayload, RevokeApiTokenInput, RevokeApiTokenPayload } from './token.type';

export type TokenResolverDeps = Pick<Services, 'scope' | 'tokens'>;

@Resolver(() => ApiToken)
export class TokenResolver {
  constructor(private readonly s: TokenResolverDeps) {}

  @Authorized('ADMIN')
  @Query(() => ApiTokenConnection, { description: "A tenant's API tokens (metadata only)." })
  async apiTokens(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('includeRevoked', { defaultValue: false, description: 'Also list revoked tokens.' }) includeRevoked: boolean,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return toConnection(await this.s.tokens.list(scoped, includeRevoked, page));
  }

  @Authorized('ADMIN')
  @Mutation(() => CreateApiTokenPayload, { description: 'Create a tenant API token. The token is returned once.' })
  createApiToken(@Arg('input') input: CreateApiTokenInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.tenantId, ['input', 'tenantId']);
      return this.s.tokens.create(tenantId, audit, input);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => RevokeApiTokenPayload, { description: 'Revoke a tenant API token; it stops working immediately.' })
  revokeApiToken(@Arg('input') input: RevokeApiTokenInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'apiToken', input.id, ['input', 'id']);
      return { apiToken: await this.s.tokens.revoke(tenantId, audit, input.id) };
    });
  }
}
