import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import type { WebhookDisabledReason, WebhookEndpoint } from '../webhook/endpoint';
import { WebhookDisabledReasonEnum, WebhookEndpointEnum } from '../webhook/endpoint.type';
import { ENDPOINT_ALERT_STATUSES, type EndpointAlertStatus } from './webhook-endpoint-alert.entity';

export const EndpointAlertStatusEnum = constEnum(ENDPOINT_ALERT_STATUSES, {
  name: 'WebhookEndpointAlertStatus',
  description: 'OPEN while the endpoint is disabled; RESOLVED once it was re-enabled.',
  valuesConfig: {
    OPEN: { description: 'The endpoint is disabled.' },
    RESOLVED: { description: 'The endpoint was re-enabled.' },
  },
});

@ObjectType({ simpleResolvers: true, description: "Keyplane stopped sending to one of the tenant's webhook endpoints." })
export class WebhookEndpointAlert {
  @Field(() => ID, { description: 'Alert id.' }) id!: string;
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field(() => WebhookEndpointEnum, { description: "A gateway's webhook or the tenant's notification webhook." }) endpoint!: WebhookEndpoint;
  @Field(() => ID, { nullable: true, description: 'The gateway, for GATEWAY_WEBHOOK; null for the notification webhook.' })
  gatewayId!: string | null;
  @Field(() => WebhookDisabledReasonEnum, { description: 'Why it was disabled.' }) reason!: WebhookDisabledReason;
  @Field(() => EndpointAlertStatusEnum, { description: 'OPEN while disabled, RESOLVED once re-enabled.' }) status!: EndpointAlertStatus;
  @Field(() => Int, { nullable: true, description: 'HTTP status of the answer that disabled it; null when none arrived.' })
  lastStatusCode!: number | null;
  @Field({ description: 'A sentence for people.' }) message!: string;
  @Field({ description: 'When the endpoint was disabled.' }) createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When it was re-enabled.' }) resolvedAt!: Date | null;
}

export const WebhookEndpointAlertConnection = ConnectionType(WebhookEndpointAlert, 'WebhookEndpointAlert');

@ObjectType({ simpleResolvers: true, description: "Keyplane stopped sending to one of the tenant's webhook endpoints; the alert as it is now." })
export class WebhookEndpointAlertEvent {
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field(() => ID, { description: 'The alert.' }) alertId!: string;
  @Field(() => WebhookEndpointAlert, { description: 'The alert, re-read when the event arrived.' }) alert!: WebhookEndpointAlert;
}
