import { Arg, Authorized, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { CurrentActor, Page } from '../../graphql/params';
import type { Services } from '../../services';
import type { Actor } from '../auth/actor';
import { isAuditAction } from './audit-actions';
import type { AuditEventEntity } from './audit.entity';
import { AuditIntegrityReport } from './audit-integrity.type';
import { AuditEventFilter, PlatformAuditEventFilter } from './audit.inputs';
import { AuditActionEnum, AuditEvent, AuditEventConnection } from './audit.type';

export type AuditResolverDeps = Pick<Services, 'scope' | 'audit' | 'auditIntegrity'>;

@Resolver(() => AuditEvent)
export class AuditResolver {
  constructor(private readonly s: AuditResolverDeps) {}

  @Authorized()
  @Query(() => AuditEventConnection, { description: "A tenant's audit trail, newest first." })
  async auditEvents(
    @Arg('tenantId', () => ID) tenantId: string,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
    @Arg('action', () => String, { nullable: true, description: 'Only this action.', deprecationReason: 'Use filter.actions.' }) action?: string,
    @Arg('filter', () => AuditEventFilter, { nullable: true, description: 'Only events matching every filter given.' }) filter?: AuditEventFilter,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return toConnection(await this.s.audit.list(scoped, { ...filter, action }, page));
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => AuditEventConnection, {
    description: "Every audit event, the platform's own (tenantId null) and every tenant's, newest first. Platform admins only.",
  })
  async platformAuditEvents(
    @Page() page: PageArgsInput,
    @Arg('filter', () => PlatformAuditEventFilter, { nullable: true, description: 'Only events matching every filter given.' })
    filter?: PlatformAuditEventFilter,
  ) {
    return toConnection(await this.s.audit.listPlatform(filter ?? {}, page));
  }

  @FieldResolver(() => AuditActionEnum, { nullable: true })
  actionCode(@Root() event: AuditEventEntity) {
    return isAuditAction(event.action) ? event.action : null;
  }

  @Authorized('ADMIN')
  @Query(() => AuditIntegrityReport, {
    description:
      "Checks a tenant's audit chain (hashes, sequence, signed checkpoints) and reports the first break. Tenant admins and platform admins.",
  })
  async auditIntegrity(@Arg('tenantId', () => ID) tenantId: string, @CurrentActor() actor: Actor) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return this.s.auditIntegrity.verify(scoped);
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => AuditIntegrityReport, {
    description: "Checks the platform's own audit chain (events without a tenant) and reports the first break. Platform admins only.",
  })
  platformAuditIntegrity() {
    return this.s.auditIntegrity.verify(null);
  }
}
