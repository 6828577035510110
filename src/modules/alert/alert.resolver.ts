import { Arg, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import { orNull } from '../../graphql/lookup';
import { ForwardPageArgsInput, PageArgsInput, toConnection, type Connection } from '../../graphql/connection';
import { Audit, CurrentActor, ForwardPage, Page } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Page as PageOf } from '../../db/pagination';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import { toCredential } from '../credential/credential.resolver';
import type { AlertStatus } from './alert.entity';
import { encodeGroupCursor, type AlertView, type GroupView } from './alert.service';
import {
  AlertStatusEnum,
  KeyRescanStatus,
  KeyReuseAlert,
  KeyReuseAlertConnection,
  KeyReuseAlertInput,
  KeyReuseAlertPayload,
  KeyReuseGroup,
  KeyReuseGroupConnection,
  StartKeyRescanInput,
  StartKeyRescanPayload,
} from './alert.type';
import { ALERT_MESSAGES } from './key-reuse.rules';

/** Entity -> API shape: only the declared fields, never the fingerprint or who else holds the key. */
export function toKeyReuseAlert(a: AlertView): KeyReuseAlert {
  return {
    id: a.id,
    credential: toCredential(a.credential),
    severity: a.severity,
    scope: a.scope,
    status: a.status,
    message: ALERT_MESSAGES[a.scope],
    createdAt: a.createdAt,
    lastSeenAt: a.lastSeenAt,
    statusChangedAt: a.statusChangedAt,
    reopenCount: a.reopenCount,
  };
}

function toGroup(g: GroupView): KeyReuseGroup {
  return {
    id: g.id,
    severity: g.severity,
    members: g.members.map((m) => ({ ...m, credential: toCredential(m.credential), alerts: m.alerts.map(toKeyReuseAlert) })),
  };
}

function toGroupConnection(page: PageOf<GroupView>): Omit<Connection<KeyReuseGroup>, 'totalCount'> {
  const edges = page.nodes.map((g) => ({ cursor: encodeGroupCursor(g.id), node: toGroup(g) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: page.endCursor },
  };
}

export type AlertResolverDeps = Pick<Services, 'scope' | 'alerts' | 'keyRescans'>;

@Resolver(() => KeyReuseAlert)
export class AlertResolver {
  constructor(private readonly s: AlertResolverDeps) {}

  @Authorized()
  @Query(() => KeyReuseAlertConnection, { description: "Alerts that one of the tenant's keys is also stored elsewhere, newest first." })
  async keyReuseAlerts(
    @Arg('tenantId', () => ID) tenantId: string,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
    @Arg('status', () => AlertStatusEnum, { nullable: true, description: 'Only this status.' }) status?: AlertStatus,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return toConnection(await this.s.alerts.list(scoped, { status }, page), toKeyReuseAlert);
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => KeyReuseGroupConnection, { description: 'Credentials sharing a key, across tenants (platform admins only).' })
  async keyReuseGroups(@ForwardPage() page: ForwardPageArgsInput) {
    return toGroupConnection(await this.s.alerts.groups(page));
  }

  @Authorized('ADMIN')
  @Mutation(() => KeyReuseAlertPayload, { description: 'Mark an alert as seen; it stays visible.' })
  acknowledgeKeyReuseAlert(@Arg('input') input: KeyReuseAlertInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return this.setStatus(input, actor, audit, 'ACKNOWLEDGED');
  }

  @Authorized('ADMIN')
  @Mutation(() => KeyReuseAlertPayload, { description: 'Dismiss an alert. It reopens if the key is registered again.' })
  dismissKeyReuseAlert(@Arg('input') input: KeyReuseAlertInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return this.setStatus(input, actor, audit, 'DISMISSED');
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => StartKeyRescanPayload, { description: 'Fingerprint every stored key again, in the background (platform admins only).' })
  startKeyRescan(@Audit() audit: AuditActor, @Arg('input', () => StartKeyRescanInput, { nullable: true }) input?: StartKeyRescanInput) {
    return mutate(() => this.s.keyRescans.start(audit, input?.reason));
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => KeyRescanStatus, { nullable: true, description: 'Progress of a key rescan (platform admins only); null for an unknown job id.' })
  keyRescan(@Arg('jobId', () => ID) jobId: string) {
    return orNull(() => this.s.keyRescans.status(jobId));
  }

  private setStatus(input: KeyReuseAlertInput, actor: Actor, audit: AuditActor, target: 'ACKNOWLEDGED' | 'DISMISSED') {
    return mutate(async () => {
      const tenantId = await this.s.alerts.tenantOf(actor, input.id, ['input', 'id']);
      return { alert: toKeyReuseAlert(await this.s.alerts.setStatus(tenantId, audit, input.id, target)) };
    });
  }
}
