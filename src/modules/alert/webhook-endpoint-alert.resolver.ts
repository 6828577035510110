import { Arg, Authorized, ID, Query, Resolver } from 'type-graphql';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { CurrentActor, Page } from '../../graphql/params';
import type { Services } from '../../services';
import type { Actor } from '../auth/actor';
import type { EndpointAlertStatus, WebhookEndpointAlertEntity } from './webhook-endpoint-alert.entity';
import { EndpointAlertStatusEnum, WebhookEndpointAlert, WebhookEndpointAlertConnection } from './webhook-endpoint-alert.type';

const MESSAGES: Record<WebhookEndpointAlertEntity['reason'], string> = {
  GONE: 'The receiver answered 410 Gone: nothing more is sent to this webhook until it is re-enabled.',
  CONSECUTIVE_FAILURES: 'Too many deliveries in a row failed after all their tries: nothing more is sent to this webhook until it is re-enabled.',
};

/** Entity -> API shape. */
export function toEndpointAlert(a: WebhookEndpointAlertEntity): WebhookEndpointAlert {
  return {
    id: a.id,
    tenantId: a.tenantId,
    endpoint: a.endpoint,
    gatewayId: a.gatewayId,
    reason: a.reason,
    status: a.status,
    lastStatusCode: a.lastStatusCode,
    message: MESSAGES[a.reason],
    createdAt: a.createdAt,
    resolvedAt: a.resolvedAt,
  };
}

export type EndpointAlertResolverDeps = Pick<Services, 'scope' | 'endpointAlerts'>;

@Resolver(() => WebhookEndpointAlert)
export class WebhookEndpointAlertResolver {
  constructor(private readonly s: EndpointAlertResolverDeps) {}

  @Authorized()
  @Query(() => WebhookEndpointAlertConnection, {
    description: "A tenant's webhook endpoint alerts (an endpoint Keyplane stopped sending to), newest first.",
  })
  async webhookEndpointAlerts(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('status', () => EndpointAlertStatusEnum, { nullable: true, description: 'Only alerts in this state.' }) status: EndpointAlertStatus | null,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    const found = await this.s.endpointAlerts.list(scoped, { status }, page);
    return toConnection({ ...found, nodes: found.nodes.map(toEndpointAlert) });
  }
}
