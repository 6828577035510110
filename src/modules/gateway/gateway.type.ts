import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/node';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import { Provider } from '../provider/provider.type';
import type { WebhookDisabledReason } from '../webhook/endpoint';
import { WebhookDisabledReasonEnum } from '../webhook/endpoint.type';
import { CREDENTIAL_MODES, type CredentialMode } from './gateway.entity';

export const CredentialModeEnum = constEnum(CREDENTIAL_MODES, {
  name: 'CredentialMode',
  description: "Which keys a gateway is served: the tenant's only, the platform's only, or the tenant's first.",
  valuesConfig: {
    USER_PROVIDED: { description: "The tenant's own attached keys only (the default)." },
    BUNDLED: { description: "The platform's keys only." },
    HYBRID: { description: "The tenant's attached keys first, then the platform's." },
  },
});

@ObjectType({ simpleResolvers: true, implements: Node, description: 'An AI gateway that pulls its resolved provider keys from Keyplane.' })
export class Gateway {
  @Field(() => ID, { description: 'Gateway id.' }) id!: string;
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field({ description: 'Display name.' }) name!: string;
  @Field({ description: 'Identifier, unique within the tenant.' }) slug!: string;
  @Field(() => String, { nullable: true, description: 'Free text.' }) description!: string | null;
  @Field(() => CredentialModeEnum, { description: 'Which keys the gateway is served.' }) credentialMode!: CredentialMode;
  @Field(() => String, { nullable: true, description: 'Where reload notifications are sent.' }) webhookUrl!: string | null;
  @Field({ description: "Redacted hint of the gateway's own key, e.g. kpg_…AbCd." }) redactedKey!: string;
  @Field(() => Int, { description: 'Bumped whenever what the gateway must use changes.' }) configVersion!: number;
  @Field({ description: 'When the gateway was created.' }) createdAt!: Date;
  @Field({ description: 'When the gateway was last changed.' }) updatedAt!: Date;
  @Field(() => Date, { nullable: true, description: "When the gateway's key was last rotated." }) keyRotatedAt!: Date | null;
  @Field({ description: 'When configVersion last changed.' }) configChangedAt!: Date;
  @Field(() => Int, { nullable: true, description: 'The config version the gateway last pulled; null if it never pulled.' })
  pulledConfigVersion!: number | null;
  @Field(() => Date, { nullable: true, description: 'When the gateway last pulled its config.' }) pulledAt!: Date | null;
  @Field(() => Date, {
    nullable: true,
    description: 'When Keyplane stopped sending reload notifications to webhookUrl; null while it sends them. enableGatewayWebhook resumes.',
  })
  webhookDisabledAt!: Date | null;
  @Field(() => WebhookDisabledReasonEnum, { nullable: true, description: 'Why the webhook is disabled; null while enabled.' })
  webhookDisabledReason!: WebhookDisabledReason | null;
  @Field(() => Int, { description: 'Reload notifications given up in a row since the last one delivered (or the last re-enable).' })
  webhookConsecutiveFailures!: number;
}

@ObjectType({ simpleResolvers: true, description: 'Whether a gateway has picked up its latest config version.' })
export class GatewayDrift {
  @Field({ description: 'The gateway holds the latest config version.' }) upToDate!: boolean;
  @Field(() => Int, { description: 'Config versions not pulled yet (all of them if the gateway never pulled).' })
  versionsBehind!: number;
  @Field(() => Int, {
    nullable: true,
    description: 'When behind: seconds since the newest config change (a lower bound if several were missed); else null.',
  })
  laggingSinceSeconds!: number | null;
}

@ObjectType({ simpleResolvers: true, description: "A per-provider override of the gateway's credential mode." })
export class GatewayProviderMode {
  @Field(() => Provider, { description: 'The provider the override applies to.' }) provider!: Provider;
  @Field(() => CredentialModeEnum, { description: 'The mode for this provider.' }) credentialMode!: CredentialMode;
}

@InputType({ description: "Set or clear a gateway's credential mode for one provider." })
export class SetGatewayProviderModeInput {
  @Field(() => ID, { description: 'Gateway id.' }) gatewayId!: string;
  @Field(() => ID, { description: 'Provider id.' }) providerId!: string;
  @Field(() => CredentialModeEnum, { nullable: true, description: "The mode for this provider; null falls back to the gateway's mode." })
  credentialMode?: CredentialMode | null;
}

@ObjectType({ simpleResolvers: true, description: 'A credential a gateway uses, with its place in the order for its provider.' })
export class GatewayAttachment {
  @Field(() => ID, { description: 'Attached credential id.' }) credentialId!: string;
  @Field(() => ID, { description: 'Provider of the credential.' }) providerId!: string;
  @Field(() => Int, { description: 'Lower is tried first, per provider.' }) priority!: number;
  @Field({ description: 'When it was attached.' }) createdAt!: Date;
  tenantId!: string;
}

export const GatewayConnection = ConnectionType(Gateway, 'Gateway');

@InputType({ description: 'A new gateway.' })
export class CreateGatewayInput {
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field({ description: 'Display name, up to 100 characters.' }) name!: string;
  @Field({ description: 'Unique within the tenant: lowercase letters, digits, hyphens.' }) slug!: string;
  @Field(() => String, { nullable: true, description: 'Free text, up to 500 characters.' }) description?: string | null;
  @Field(() => CredentialModeEnum, { nullable: true, description: 'Defaults to USER_PROVIDED.' })
  credentialMode?: CredentialMode | null;
  @Field(() => String, {
    nullable: true,
    description: 'URL for reload notifications; must pass the outbound policy (https on 443 unless the operator allows more), else URL_NOT_ALLOWED.',
  })
  webhookUrl?: string | null;
}

@InputType({ description: 'Changes to a gateway; omitted fields stay as they are.' })
export class UpdateGatewayInput {
  @Field(() => ID, { description: 'Gateway id.' }) id!: string;
  @Field(() => String, { nullable: true, description: 'New display name.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'New description; null clears it.' }) description?: string | null;
  @Field(() => CredentialModeEnum, { nullable: true, description: 'New mode; the gateway reloads.' })
  credentialMode?: CredentialMode | null;
  @Field(() => String, { nullable: true, description: 'New webhook URL (outbound policy as on create); null removes it.' }) webhookUrl?:
    string | null;
}

@InputType({ description: 'The gateway whose key to replace.' })
export class RotateGatewayKeyInput {
  @Field(() => ID, { description: 'Gateway id.' }) id!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'Optional, 1-255 characters, unique per request: a retry with the same key within 24 hours returns the same gateway with gatewayKey null (the key is shown once) and rotates nothing; the same key with a different request is IDEMPOTENCY_KEY_REUSED. Scoped to the tenant.',
  })
  idempotencyKey?: string | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'Hours (0-168, default 0) during which the replaced key still pulls config, so a fleet can roll to the new key. 0: the old key stops working now.',
  })
  graceHours?: number | null;
}

@InputType({ description: 'The gateway whose webhook signing secret to replace.' })
export class RotateGatewayWebhookSecretInput {
  @Field(() => ID, { description: 'Gateway id.' }) gatewayId!: string;
  @Field(() => Int, {
    nullable: true,
    description: 'Hours (0-168, default 24) during which every reload webhook carries the old signature too. 0: the old secret stops now.',
  })
  overlapHours?: number | null;
}

@InputType({ description: 'Let a gateway use a credential.' })
export class AttachCredentialInput {
  @Field(() => ID, { description: 'Gateway id.' }) gatewayId!: string;
  @Field(() => ID, { description: 'Credential id, of the same tenant.' }) credentialId!: string;
  @Field(() => Int, { nullable: true, description: 'Order among keys of the same provider (0-1000, lower first); default last.' })
  priority?: number | null;
}

@InputType({ description: 'Stop a gateway using a credential.' })
export class DetachCredentialInput {
  @Field(() => ID, { description: 'Gateway id.' }) gatewayId!: string;
  @Field(() => ID, { description: 'Credential id.' }) credentialId!: string;
}

@InputType({ description: 'The gateway whose disabled webhook to re-enable.' })
export class EnableGatewayWebhookInput {
  @Field(() => ID, { description: 'Gateway id.' }) gatewayId!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of createGateway. The key and signing secret are shown once.' })
export class CreateGatewayPayload extends Payload {
  @Field(() => Gateway, { nullable: true, description: 'The new gateway.' }) gateway?: Gateway;
  @Field(() => String, { nullable: true, description: "The gateway's own key for pulling its config. Shown once." })
  gatewayKey?: string;
  @Field(() => String, { nullable: true, description: 'Secret to verify reload webhooks (Standard Webhooks). Shown once.' })
  signingSecret?: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of rotateGatewayKey. The new key is shown once.' })
export class RotateGatewayKeyPayload extends Payload {
  @Field(() => Gateway, { nullable: true, description: 'The gateway.' }) gateway?: Gateway;
  @Field(() => String, {
    nullable: true,
    description: 'The new key; the old one stops working now, or at previousKeyExpiresAt. Null on an idempotent replay: it is shown once.',
  })
  gatewayKey?: string | null;
  @Field(() => Date, { nullable: true, description: 'Until when the replaced key still pulls config (graceHours); null: it stopped now.' })
  previousKeyExpiresAt?: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of rotateGatewayWebhookSecret. The new secret is shown once.' })
export class RotateGatewayWebhookSecretPayload extends Payload {
  @Field(() => Gateway, { nullable: true, description: 'The gateway.' }) gateway?: Gateway;
  @Field(() => String, { nullable: true, description: 'The new whsec_ secret that signs reload webhooks (Standard Webhooks). Shown once.' })
  signingSecret?: string;
  @Field(() => Date, {
    nullable: true,
    description: "Until when webhooks also carry the old secret's signature (webhook-signature lists both); null: the old secret stopped now.",
  })
  previousSecretExpiresAt?: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a gateway mutation.' })
export class GatewayPayload extends Payload {
  @Field(() => Gateway, { nullable: true, description: 'The gateway after the change.' }) gateway?: Gateway;
}
