import { Arg, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import { NULL_WHEN_MISSING, orNull } from '../../graphql/lookup';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { Audit, CurrentActor, Page } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import {
  CreateTenantInput,
  CreateTenantPayload,
  EnableTenantNotificationsInput,
  EnableTenantNotificationsPayload,
  RotateTenantNotificationSecretInput,
  RotateTenantNotificationSecretPayload,
  RevertToPlatformKeysInput,
  RevertToPlatformKeysPayload,
  Tenant,
  TenantConnection,
  UpdateTenantInput,
  UpdateTenantPayload,
} from './tenant.type';

export type TenantResolverDeps = Pick<Services, 'scope' | 'tenants' | 'revert' | 'webhookEndpoints' | 'signingSecrets'>;

@Resolver(() => Tenant)
export class TenantResolver {
  constructor(private readonly s: TenantResolverDeps) {}

  @Authorized('PLATFORM_ADMIN')
  @Query(() => TenantConnection, { description: 'All tenants (platform admins only).' })
  async tenants(@Page() page: PageArgsInput) {
    return toConnection(await this.s.tenants.list(page));
  }

  @Authorized()
  @Query(() => Tenant, { nullable: true, description: `One tenant; a tenant token reads only its own. ${NULL_WHEN_MISSING}` })
  tenant(@Arg('id', () => ID) id: string, @CurrentActor() actor: Actor) {
    return orNull(async () => this.s.tenants.get(await this.s.scope.forTenant(actor, id)));
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => CreateTenantPayload, { description: 'Create a tenant (platform admins only).' })
  createTenant(@Arg('input') input: CreateTenantInput, @Audit() audit: AuditActor) {
    return mutate(async () => ({ tenant: await this.s.tenants.create(audit, input) }));
  }

  @Authorized('ADMIN')
  @Mutation(() => UpdateTenantPayload, { description: 'Rename a tenant, change its BYOK mode, rotation policy or notification webhook.' })
  updateTenant(@Arg('input') input: UpdateTenantInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.id, ['input', 'id']);
      return this.s.tenants.update(tenantId, audit, input);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => EnableTenantNotificationsPayload, {
    description:
      "Re-enable the tenant's disabled notification webhook: resets its failure count and sends the notifications it missed. Audited; a no-op when not disabled.",
  })
  enableTenantNotifications(@Arg('input') input: EnableTenantNotificationsInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.tenantId, ['input', 'tenantId']);
      return { tenant: await this.s.webhookEndpoints.enableTenantNotifications(tenantId, audit) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => RotateTenantNotificationSecretPayload, {
    description:
      "Replace the tenant's notification signing secret. Returns the new secret once; notifications carry both signatures for overlapHours (default 24). Audited.",
  })
  rotateTenantNotificationSecret(@Arg('input') input: RotateTenantNotificationSecretInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.tenantId, ['input', 'tenantId']);
      return this.s.signingSecrets.rotateTenant(tenantId, audit, input.overlapHours);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => RevertToPlatformKeysPayload, {
    description: 'Switch a tenant to platform keys, revoking and destroying all of its stored keys. Audited.',
  })
  revertToPlatformKeys(@Arg('input') input: RevertToPlatformKeysInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.tenantId, ['input', 'tenantId']);
      return this.s.revert.revertToPlatformKeys(tenantId, audit, input.confirm);
    });
  }
}
