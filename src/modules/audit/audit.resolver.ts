import { Arg, Authorized, ID, Query, Resolver } from 'type-graphql';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { CurrentActor, Page } from '../../graphql/params';
import type { Services } from '../../services';
import type { Actor } from '../auth/actor';
import { AuditIntegrityReport } from './audit-integrity.type';
import { AuditEvent, AuditEventConnection } from './audit.type';

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
    @Arg('action', () => String, { nullable: true, description: 'Only this action.' }) action?: string,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return toConnection(await this.s.audit.list(scoped, { action }, page));
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
}
