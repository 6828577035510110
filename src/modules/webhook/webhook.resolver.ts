import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { DeliveryStatusEnum } from '../../graphql/enums';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import { auditActor } from '../auth/actor';
import type { DeliveryStatus } from './webhook.entity';
import { ReplayWebhookDeliveryInput, ReplayWebhookDeliveryPayload, WebhookDelivery, WebhookDeliveryConnection } from './webhook.type';

@Resolver(() => WebhookDelivery)
export class WebhookResolver {
  constructor(
    private readonly s: Services,
    private readonly pageMax: (first: number) => void,
  ) {}

  @Authorized()
  @Query(() => WebhookDeliveryConnection, {
    description: "A tenant's webhook deliveries with their attempts, newest first. status: DEAD lists the dead letters.",
  })
  async webhookDeliveries(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('gatewayId', () => ID, { nullable: true, description: 'Only reload notifications of this gateway.' }) gatewayId: string | null,
    @Arg('status', () => DeliveryStatusEnum, { nullable: true, description: 'Only deliveries in this state.' }) status: DeliveryStatus | null,
    @Args() page: PageArgsInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    this.pageMax(page.first);
    const scoped = await this.s.scope.forTenant(actorOf(ctx), tenantId);
    return toConnection(await this.s.webhooks.list(scoped, { gatewayId, status }, page));
  }

  @Authorized('ADMIN')
  @Mutation(() => ReplayWebhookDeliveryPayload, { description: 'Send a dead-lettered webhook delivery again (same webhook-id).' })
  replayWebhookDelivery(@Arg('input') input: ReplayWebhookDeliveryInput, @Ctx() ctx: GraphQLContext) {
    return mutate(async () => {
      const tenantId = await this.s.webhooks.tenantOf(actorOf(ctx), input.id, ['input', 'id']);
      return { delivery: await this.s.webhooks.replay(tenantId, auditActor(actorOf(ctx), ctx.requestId), input.id) };
    });
  }
}
