import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import { RELOAD_REASONS, type ReloadReason } from '../../queue/registry';
import { DELIVERY_STATUSES, ERROR_CLASSES, WEBHOOK_KINDS, type DeliveryStatus, type ErrorClass, type WebhookKind } from './webhook.entity';

export const DeliveryStatusEnum = constEnum(DELIVERY_STATUSES, {
  name: 'WebhookDeliveryStatus',
  description: 'Where a webhook message is: not sent yet, delivered, being retried, given up (dead letter), or held.',
  valuesConfig: {
    PENDING: { description: 'Not sent yet, or being sent for the first time.' },
    DELIVERED: { description: 'The receiver answered 2xx.' },
    RETRYING: { description: 'An attempt failed; another one is scheduled.' },
    DEAD: { description: 'Given up after its last attempt (a dead letter); replayWebhookDelivery sends it again.' },
    HELD: { description: 'Not sent: its endpoint is disabled. Re-enabling the endpoint sends it (for a gateway, its latest config version).' },
  },
});
export const WebhookKindEnum = constEnum(WEBHOOK_KINDS, {
  name: 'WebhookKind',
  description: "What a webhook message is about: a gateway's config changed, or a key is due for rotation.",
  valuesConfig: {
    GATEWAY_RELOAD: { description: "A gateway's config changed: it should pull again." },
    ROTATION_REMINDER: { description: "A tenant's key is due (or overdue) for rotation." },
  },
});
export const GatewayReloadReasonEnum = constEnum(RELOAD_REASONS, {
  name: 'GatewayReloadReason',
  description: 'Why a gateway was told to reload its config.',
  valuesConfig: {
    CREDENTIAL_ATTACHED: { description: 'A credential was attached to the gateway.' },
    CREDENTIAL_DETACHED: { description: 'A credential was detached from the gateway.' },
    CREDENTIAL_ROTATED: { description: 'A key it serves changed: a rotation took over, a grace period ended, or an invalid key works again.' },
    CREDENTIAL_REVOKED: { description: 'A credential it served was revoked.' },
    CREDENTIAL_INVALID: { description: 'A key it served was rejected by its provider.' },
    MODE_CHANGED: { description: "The gateway's key mode (BYOK, BUNDLED, HYBRID) changed, or the tenant left BYOK." },
    PLATFORM_KEYS_CHANGED: { description: 'A platform key it may be served was added or revoked.' },
    PROVIDER_HOST_CONFIRMED: { description: "The tenant confirmed a provider's new host: its keys of that provider are served again." },
    WEBHOOK_REENABLED: { description: "The gateway's disabled webhook was re-enabled: its latest version is announced once." },
  },
});

/** Values no attempt records any more (all are UNREACHABLE now), kept deprecated for clients that switch on them. */
const RETIRED_ERROR_CLASSES = ['BLOCKED_ADDRESS', 'CONNECTION', 'TIMEOUT'] as const;
const RETIRED = { description: 'No longer recorded.', deprecationReason: 'Every failure to reach a receiver is UNREACHABLE.' };
export const WebhookErrorClassEnum = constEnum([...ERROR_CLASSES, ...RETIRED_ERROR_CLASSES], {
  name: 'WebhookErrorClass',
  description: "Why a webhook attempt failed, coarsely. The receiver's response body is never kept or shown.",
  valuesConfig: {
    UNREACHABLE: {
      description:
        'No answer within WEBHOOK_TIMEOUT_MS, whatever the cause (address or destination not allowed by the outbound policy, unknown name, refused, reset, timeout, TLS); retried. Reported when the deadline has passed.',
    },
    HTTP_4XX: { description: 'The receiver answered 4xx.' },
    HTTP_5XX: { description: 'The receiver answered 5xx (or another non-2xx status).' },
    REDIRECT: { description: 'The receiver answered with a redirect, which is never followed.' },
    INVALID_URL: { description: 'The URL is not an absolute http(s) URL; not retried.' },
    NO_URL: { description: 'No webhook URL or signing secret is configured; not retried.' },
    BLOCKED_ADDRESS: RETIRED,
    CONNECTION: RETIRED,
    TIMEOUT: RETIRED,
  },
});

@ObjectType({
  simpleResolvers: true,
  description: "One try of a webhook delivery: status, latency and error class (the receiver's body is never kept).",
})
export class WebhookAttempt {
  @Field(() => Int, { description: 'Attempt number, counting across replays.' }) attempt!: number;
  @Field(() => Int, { nullable: true, description: 'HTTP status from the receiver; null when none arrived.' }) statusCode!: number | null;
  @Field(() => Int, { description: 'Milliseconds from sending to the answer (or the failure).' }) latencyMs!: number;
  @Field(() => WebhookErrorClassEnum, { nullable: true, description: 'Why it failed; null when delivered.' })
  errorClass!: ErrorClass | null;
  @Field({ description: 'When the attempt was made.' }) createdAt!: Date;
}

@ObjectType({
  simpleResolvers: true,
  description: 'A signed webhook message (Standard Webhooks) and its delivery state. DEAD ones are the dead letters.',
})
export class WebhookDelivery {
  @Field(() => ID, { description: 'Delivery id; the webhook-id header is msg_ + this id without hyphens.' }) id!: string;
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field(() => WebhookKindEnum, { description: 'What the message is about.' }) kind!: WebhookKind;
  @Field(() => ID, { description: 'The gateway (GATEWAY_RELOAD) or rotation reminder (ROTATION_REMINDER) it is about.' })
  targetId!: string;
  @Field(() => ID, { nullable: true, description: 'The gateway, for GATEWAY_RELOAD messages.' }) gatewayId!: string | null;
  @Field({ description: 'The `type` field of the message body, e.g. gateway.config_changed.' }) eventType!: string;
  @Field(() => Int, { nullable: true, description: 'The config version announced (GATEWAY_RELOAD).' }) configVersion!: number | null;
  // Kept as a string (deprecate first, docs/audit.md "Schema"); reasonCode is the typed field.
  @Field(() => String, {
    nullable: true,
    description: 'Why the gateway must reload (GATEWAY_RELOAD).',
    deprecationReason: 'Use reasonCode (the same value as an enum).',
  })
  reason!: string | null;
  @Field(() => GatewayReloadReasonEnum, {
    nullable: true,
    description: 'Why the gateway must reload (GATEWAY_RELOAD); null for other kinds, and for a reason this server version does not know.',
  })
  reasonCode!: ReloadReason | null;
  @Field(() => DeliveryStatusEnum, { description: 'PENDING, DELIVERED, RETRYING, DEAD or HELD.' }) status!: DeliveryStatus;
  @Field(() => Int, { description: 'Attempts made so far, across replays.' }) attemptCount!: number;
  @Field(() => Int, { nullable: true, description: 'HTTP status of the last attempt.' }) lastStatusCode!: number | null;
  @Field(() => WebhookErrorClassEnum, { nullable: true, description: 'Error class of the last attempt.' })
  lastErrorClass!: ErrorClass | null;
  @Field(() => Int, { description: 'How many times an admin replayed it.' }) replayCount!: number;
  @Field({ description: 'When the message was created.' }) createdAt!: Date;
  @Field({ description: 'When it last changed.' }) updatedAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When the receiver accepted it (2xx).' }) deliveredAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When it was given up (dead letter).' }) deadAt!: Date | null;
  @Field(() => [WebhookAttempt], { description: 'Every attempt, oldest first.' }) attempts!: WebhookAttempt[];
}

export const WebhookDeliveryConnection = ConnectionType(WebhookDelivery, 'WebhookDelivery');

@InputType({ description: 'The dead-lettered delivery to send again.' })
export class ReplayWebhookDeliveryInput {
  @Field(() => ID, { description: 'Delivery id.' }) id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of replayWebhookDelivery.' })
export class ReplayWebhookDeliveryPayload extends Payload {
  @Field(() => WebhookDelivery, { nullable: true, description: 'The delivery, now PENDING again.' }) delivery?: WebhookDelivery;
}
