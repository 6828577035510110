import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/node';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import type { WebhookDisabledReason } from '../webhook/endpoint';
import { WebhookDisabledReasonEnum } from '../webhook/endpoint.type';
import { BYOK_MODES, type ByokMode } from './tenant.entity';

export const ByokModeEnum = constEnum(BYOK_MODES, {
  name: 'ByokMode',
  description: "Whose provider keys a tenant uses: the platform's, its own, or its own first.",
  valuesConfig: {
    BYOK: { description: "Bring your own key: the tenant's gateways are served the tenant's own keys." },
    HYBRID: { description: "The tenant's own keys first, the platform's keys where it has none usable." },
    PLATFORM: { description: "The platform's keys only; the tenant stores none (revertToPlatformKeys leads here)." },
  },
});

@ObjectType({ simpleResolvers: true, implements: Node, description: 'A customer organisation. Everything else belongs to exactly one tenant.' })
export class Tenant {
  @Field(() => ID, { description: 'Tenant id.' }) id!: string;
  @Field({ description: 'Display name.' }) name!: string;
  @Field({ description: 'Unique, URL-safe identifier.' }) slug!: string;
  @Field(() => ByokModeEnum, { description: "Whose provider keys this tenant's gateways use." }) byokMode!: ByokMode;
  @Field(() => Int, { description: 'Default days until a stored key should be rotated (default 90).' })
  rotationPolicyDays!: number;
  @Field(() => String, { nullable: true, description: 'Where rotation reminders are POSTed (signed); null: none are sent.' })
  notificationWebhookUrl!: string | null;
  @Field({ description: 'When the tenant was created.' }) createdAt!: Date;
  @Field({ description: 'When the tenant was last changed.' }) updatedAt!: Date;
  @Field(() => Date, {
    nullable: true,
    description:
      'When Keyplane stopped sending to notificationWebhookUrl; null while it sends. Messages are HELD meanwhile; enableTenantNotifications sends them.',
  })
  notificationWebhookDisabledAt!: Date | null;
  @Field(() => WebhookDisabledReasonEnum, { nullable: true, description: 'Why the notification webhook is disabled; null while enabled.' })
  notificationWebhookDisabledReason!: WebhookDisabledReason | null;
  @Field(() => Int, { description: 'Notifications given up in a row since the last one delivered (or the last re-enable).' })
  notificationWebhookConsecutiveFailures!: number;
}

export const TenantConnection = ConnectionType(Tenant, 'Tenant');

@InputType({ description: 'A new tenant.' })
export class CreateTenantInput {
  @Field({ description: 'Display name, up to 100 characters.' }) name!: string;
  @Field({ description: 'Lowercase letters, digits and hyphens; unique.' }) slug!: string;
  @Field(() => ByokModeEnum, { nullable: true, description: 'Defaults to BYOK.' }) byokMode?: ByokMode | null;
  @Field(() => Int, { nullable: true, description: 'Defaults to 90.' }) rotationPolicyDays?: number | null;
}

@InputType({ description: 'Changes to a tenant; omitted fields stay as they are.' })
export class UpdateTenantInput {
  @Field(() => ID, { description: 'Tenant id.' }) id!: string;
  @Field(() => String, { nullable: true, description: 'New display name.' }) name?: string | null;
  @Field(() => ByokModeEnum, { nullable: true, description: 'New BYOK mode; gateways reload.' }) byokMode?: ByokMode | null;
  @Field(() => Int, { nullable: true, description: 'New default rotation period in days (1-3650).' })
  rotationPolicyDays?: number | null;
  @Field(() => String, {
    nullable: true,
    description:
      'Notification webhook URL; must pass the outbound policy (https on 443 unless the operator allows more), else URL_NOT_ALLOWED. null removes it. Setting the first one issues a signing secret.',
  })
  notificationWebhookUrl?: string | null;
}

@InputType({ description: 'Leave BYOK: revoke and destroy every stored key of the tenant.' })
export class RevertToPlatformKeysInput {
  @Field(() => ID, { description: 'Tenant id.' }) tenantId!: string;
  @Field({ description: "The tenant's slug, typed by the user to confirm. Irreversible." }) confirm!: string;
}

@InputType({ description: 'The tenant whose disabled notification webhook to re-enable.' })
export class EnableTenantNotificationsInput {
  @Field(() => ID, { description: 'Tenant id.' }) tenantId!: string;
}

@InputType({ description: 'The tenant whose notification signing secret to replace.' })
export class RotateTenantNotificationSecretInput {
  @Field(() => ID, { description: 'Tenant id.' }) tenantId!: string;
  @Field(() => Int, {
    nullable: true,
    description: 'Hours (0-168, default 24) during which every notification carries the old signature too. 0: the old secret stops now.',
  })
  overlapHours?: number | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of rotateTenantNotificationSecret. The new secret is shown once.' })
export class RotateTenantNotificationSecretPayload extends Payload {
  @Field(() => Tenant, { nullable: true, description: 'The tenant.' }) tenant?: Tenant;
  @Field(() => String, { nullable: true, description: 'The new whsec_ secret that signs notification webhooks (Standard Webhooks). Shown once.' })
  notificationSigningSecret?: string;
  @Field(() => Date, {
    nullable: true,
    description: "Until when notifications also carry the old secret's signature (webhook-signature lists both); null: the old secret stopped now.",
  })
  previousSecretExpiresAt?: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of enableTenantNotifications.' })
export class EnableTenantNotificationsPayload extends Payload {
  @Field(() => Tenant, { nullable: true, description: 'The tenant, its notification webhook enabled.' }) tenant?: Tenant;
}

@ObjectType({ simpleResolvers: true, description: 'Result of createTenant.' })
export class CreateTenantPayload extends Payload {
  @Field(() => Tenant, { nullable: true, description: 'The new tenant.' }) tenant?: Tenant;
}

@ObjectType({ simpleResolvers: true, description: 'Result of updateTenant.' })
export class UpdateTenantPayload extends Payload {
  @Field(() => Tenant, { nullable: true, description: 'The tenant after the change.' }) tenant?: Tenant;
  @Field(() => String, {
    nullable: true,
    description: 'whsec_ secret that signs notification webhooks. Returned once, when the first URL is set; store it now.',
  })
  notificationSigningSecret?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of revertToPlatformKeys.' })
export class RevertToPlatformKeysPayload extends Payload {
  @Field(() => Tenant, { nullable: true, description: 'The tenant, now in PLATFORM mode.' }) tenant?: Tenant;
  @Field(() => Int, { nullable: true, description: 'Credentials that were revoked.' }) revokedCredentials?: number;
  @Field(() => Int, { nullable: true, description: 'Stored key versions whose material was destroyed.' })
  destroyedKeyVersions?: number;
}
