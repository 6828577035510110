import { Arg, Args, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import type { Services } from '../../services';
import { AuditEvent, AuditEventConnection } from './audit.type';

@Resolver(() => AuditEvent)
export class AuditResolver {
  constructor(
    private readonly s: Services,
    private readonly pageMax: (first: number) => void,
  ) {}

  @Authorized()
  @Query(() => AuditEventConnection, { description: "A tenant's audit trail, newest first." })
  async auditEvents(
    @Arg('tenantId', () => ID) tenantId: string,
    @Args() page: PageArgsInput,
    @Ctx() ctx: GraphQLContext,
    @Arg('action', () => String, { nullable: true, description: 'Only this action.' }) action?: string,
  ) {
    this.pageMax(page.first);
    const scoped = await this.s.scope.forTenant(actorOf(ctx), tenantId);
    return toConnection(await this.s.audit.list(scoped, { action }, page));
  }
}
