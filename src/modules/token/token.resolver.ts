import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import { auditActor } from '../auth/actor';
import { ApiToken, ApiTokenConnection, CreateApiTokenInput, CreateApiTokenPayload, RevokeApiTokenInput, RevokeApiTokenPayload } from './token.type';

@Resolver(() => ApiToken)
export class TokenResolver {
  constructor(
    private readonly s: Services,
    private readonly pageMax: (first: number) => void,
  ) {}

  @Authorized('ADMIN')
  @Query(() => ApiTokenConnection, { description: "A tenant's API tokens (metadata only)." })
  async apiTokens(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('includeRevoked', { defaultValue: false, description: 'Also list revoked tokens.' }) includeRevoked: boolean,
    @Args() page: PageArgsInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    this.pageMax(page.first);
    const scoped = await this.s.scope.forTenant(actorOf(ctx), tenantId);
    return toConnection(await this.s.tokens.list(scoped, includeRevoked, page));
  }

  @Authorized('ADMIN')
  @Mutation(() => CreateApiTokenPayload, { description: 'Create a tenant API token. The token is returned once.' })
  createApiToken(@Arg('input') input: CreateApiTokenInput, @Ctx() ctx: GraphQLContext) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actorOf(ctx), input.tenantId, ['input', 'tenantId']);
      return this.s.tokens.create(tenantId, auditActor(actorOf(ctx), ctx.requestId), input);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => RevokeApiTokenPayload, { description: 'Revoke a tenant API token; it stops working immediately.' })
  revokeApiToken(@Arg('input') input: RevokeApiTokenInput, @Ctx() ctx: GraphQLContext) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actorOf(ctx), 'apiToken', input.id, ['input', 'id']);
      return { apiToken: await this.s.tokens.revoke(tenantId, auditActor(actorOf(ctx), ctx.requestId), input.id) };
    });
  }
}
