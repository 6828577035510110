import { Arg, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { Audit, CurrentActor, Page } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import type { DeliveryStatus } from './webhook.entity';
import {
  DeliveryStatusEnum,
  ReplayWebhookDeliveryInput,
  ReplayWebhookDeliveryPayload,
  WebhookDelivery,
  WebhookDeliveryConnection,
} from './webhook.type';

export type WebhookResolverDeps = Pick<Services, 'scope' | 'webhooks'>;

@Resolver(() => WebhookDelivery)
export class WebhookResolver {
  constructor(private readonly s: WebhookResolverDeps) {}

  @Authorized()
  @Query(() => WebhookDeliveryConnection, {
    description: "A tenant's webhook deliveries with their attempts, newest first. status: DEAD lists the dead letters.",
  })
  async webhookDeliveries(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('gatewayId', () => ID, { nullable: true, description: 'Only reload notifications of this gateway.' }) gatewayId: string | null,
    @Arg('status', () => DeliveryStatusEnum, { nullable: true, description: 'Only deliveries in this state.' }) status: DeliveryStatus | null,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return toConnection(await this.s.webhooks.list(scoped, { gatewayId, status }, page));
  }

  @Authorized('ADMIN')
  @Mutation(() => ReplayWebhookDeliveryPayload, { description: 'Send a dead-lettered webhook delivery again (same webhook-id).' })
  replayWebhookDelivery(@Arg('input') input: ReplayWebhookDeliveryInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.webhooks.tenantOf(actor, input.id, ['input', 'id']);
      return { delivery: await this.s.webhooks.replay(tenantId, audit, input.id) };
    });
  }
}
