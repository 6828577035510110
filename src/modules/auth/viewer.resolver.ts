import { Authorized, Ctx, Field, ObjectType, Query, Resolver } from 'type-graphql';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { RoleEnum } from '../../graphql/enums';
import type { Services } from '../../services';
import { Tenant } from '../tenant/tenant.type';
import type { Role } from './actor';

@ObjectType({ description: 'The caller, as resolved from its token.' })
export class Viewer {
  @Field(() => RoleEnum, { description: 'What the token may do.' }) role!: Role;
  @Field({ description: 'Name of the token.' }) tokenName!: string;
  @Field(() => Tenant, { nullable: true, description: "The token's tenant; null for the platform admin." })
  tenant!: Tenant | null;
}

@Resolver(() => Viewer)
export class ViewerResolver {
  constructor(private readonly s: Services) {}

  @Authorized()
  @Query(() => Viewer, { description: 'Who is calling.' })
  async viewer(@Ctx() ctx: GraphQLContext): Promise<Viewer> {
    const actor = actorOf(ctx);
    const tenant = actor.tenantId ? await this.s.tenants.get(actor.tenantId) : null;
    return { role: actor.role, tokenName: actor.name, tenant };
  }
}
