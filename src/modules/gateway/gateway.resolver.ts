import DataLoader from 'dataloader';
import { NULL_WHEN_MISSING, orNull } from '../../graphql/lookup';
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { Audit, CurrentActor, Page } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import { toCredential } from '../credential/credential.resolver';
import { Credential } from '../credential/credential.type';
import { Provider } from '../provider/provider.type';
import {
  AttachCredentialInput,
  CreateGatewayInput,
  CreateGatewayPayload,
  DetachCredentialInput,
  EnableGatewayWebhookInput,
  Gateway,
  GatewayAttachment,
  GatewayConnection,
  GatewayDrift,
  GatewayPayload,
  GatewayProviderMode,
  RotateGatewayKeyInput,
  RotateGatewayKeyPayload,
  RotateGatewayWebhookSecretInput,
  RotateGatewayWebhookSecretPayload,
  SetGatewayProviderModeInput,
  UpdateGatewayInput,
} from './gateway.type';
import type { GatewayProviderModeEntity } from './gateway.entity';
import { gatewayDrift } from './gateway-config';

export type GatewayResolverDeps = Pick<Services, 'scope' | 'gateways' | 'gatewayAttachments' | 'webhookEndpoints' | 'signingSecrets'>;

@Resolver(() => Gateway)
export class GatewayResolver {
  constructor(private readonly s: GatewayResolverDeps) {}

  @Authorized()
  @Query(() => GatewayConnection, { description: "A tenant's gateways, newest first." })
  async gateways(
    @Arg('tenantId', () => ID) tenantId: string,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
    @Arg('lagging', () => Boolean, { nullable: true, description: 'true: only gateways behind their latest config; false: only up-to-date ones.' })
    lagging?: boolean | null,
  ) {
    return toConnection(await this.s.gateways.list(await this.s.scope.forTenant(actor, tenantId), page, { lagging }));
  }

  @Authorized()
  @Query(() => Gateway, { nullable: true, description: `One gateway. ${NULL_WHEN_MISSING}` })
  gateway(@Arg('id', () => ID) id: string, @CurrentActor() actor: Actor) {
    return orNull(async () => this.s.gateways.get(await this.s.scope.forObject(actor, 'gateway', id), id));
  }

  @FieldResolver(() => [GatewayAttachment], { description: 'Credentials in use, by provider then priority.' })
  attachments(@Root() g: Gateway, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.attachments(g.tenantId).load(g.id);
  }

  @FieldResolver(() => GatewayDrift, { description: 'Whether the gateway has pulled its latest config, and how long it has lagged.' })
  drift(@Root() g: Gateway) {
    return gatewayDrift(g, new Date());
  }

  @FieldResolver(() => [GatewayProviderMode], {
    description: 'Per-provider overrides of credentialMode (a tenant in BYOK mode PLATFORM is served platform keys regardless).',
  })
  providerModes(@Root() g: Gateway, @Ctx() ctx: GraphQLContext) {
    return providerModeLoader(ctx, this.s, g.tenantId).load(g.id);
  }

  @Authorized('ADMIN')
  @Mutation(() => GatewayPayload, { description: "Set or clear the gateway's credential mode for one provider. The gateway reloads." })
  setGatewayProviderMode(@Arg('input') input: SetGatewayProviderModeInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'gateway', input.gatewayId, ['input', 'gatewayId']);
      return { gateway: await this.s.gateways.setProviderMode(tenantId, audit, input) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => CreateGatewayPayload, { description: 'Register a gateway. Returns its own key and signing secret once.' })
  createGateway(@Arg('input') input: CreateGatewayInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.tenantId, ['input', 'tenantId']);
      return this.s.gateways.create(tenantId, audit, input);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => GatewayPayload, { description: 'Change a gateway.' })
  updateGateway(@Arg('input') input: UpdateGatewayInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'gateway', input.id, ['input', 'id']);
      return { gateway: await this.s.gateways.update(tenantId, audit, input.id, input) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => RotateGatewayKeyPayload, {
    description: "Replace a gateway's own key. Returns the new key once; the old one keeps pulling config for graceHours (default 0).",
  })
  rotateGatewayKey(@Arg('input') input: RotateGatewayKeyInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'gateway', input.id, ['input', 'id']);
      return this.s.gateways.rotateKey(tenantId, audit, input.id, input.idempotencyKey, input.graceHours);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => RotateGatewayWebhookSecretPayload, {
    description:
      "Replace a gateway's webhook signing secret. Returns the new secret once; reload webhooks carry both signatures for overlapHours (default 24). Audited.",
  })
  rotateGatewayWebhookSecret(@Arg('input') input: RotateGatewayWebhookSecretInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'gateway', input.gatewayId, ['input', 'gatewayId']);
      return this.s.signingSecrets.rotateGateway(tenantId, audit, input.gatewayId, input.overlapHours);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => GatewayPayload, {
    description:
      "Re-enable a gateway's disabled webhook: resets its failure count and sends one reload notification of the latest config version. Audited; a no-op when not disabled.",
  })
  enableGatewayWebhook(@Arg('input') input: EnableGatewayWebhookInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'gateway', input.gatewayId, ['input', 'gatewayId']);
      return { gateway: await this.s.webhookEndpoints.enableGateway(tenantId, audit, input.gatewayId) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => GatewayPayload, { description: 'Let a gateway use a credential (at most 15 per provider).' })
  attachCredential(@Arg('input') input: AttachCredentialInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'gateway', input.gatewayId, ['input', 'gatewayId']);
      return { gateway: await this.s.gatewayAttachments.attach(tenantId, audit, input) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => GatewayPayload, { description: 'Stop a gateway using a credential.' })
  detachCredential(@Arg('input') input: DetachCredentialInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'gateway', input.gatewayId, ['input', 'gatewayId']);
      return { gateway: await this.s.gatewayAttachments.detach(tenantId, audit, input) };
    });
  }
}

// Per request (the context object), per tenant: one query for the overrides of a whole page of gateways.
const modeLoaders = new WeakMap<GraphQLContext, Map<string, DataLoader<string, GatewayProviderModeEntity[]>>>();
function providerModeLoader(ctx: GraphQLContext, s: Pick<Services, 'gateways'>, tenantId: string) {
  let byTenant = modeLoaders.get(ctx);
  if (!byTenant) modeLoaders.set(ctx, (byTenant = new Map()));
  let loader = byTenant.get(tenantId);
  if (!loader) {
    loader = new DataLoader(async (ids: readonly string[]) => {
      const rows = await s.gateways.providerModes(tenantId, ids);
      return ids.map((id) => rows.filter((r) => r.gatewayId === id));
    });
    byTenant.set(tenantId, loader);
  }
  return loader;
}

@Resolver(() => GatewayAttachment)
export class GatewayAttachmentResolver {
  @FieldResolver(() => Credential, { description: 'The attached credential.' })
  async credential(@Root() a: GatewayAttachment, @Ctx() ctx: GraphQLContext) {
    const found = await ctx.loaders.credential(a.tenantId).load(a.credentialId);
    return found && toCredential(found);
  }

  @FieldResolver(() => Provider, { description: 'The provider of the credential.' })
  provider(@Root() a: GatewayAttachment, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.provider.load(a.providerId);
  }
}
