import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { PageArgsInput, toConnection, type Connection } from '../../graphql/connection';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { AlertStatusEnum } from '../../graphql/enums';
import { mutate } from '../../graphql/payload';
import type { Page } from '../../db/pagination';
import type { Services } from '../../services';
import { auditActor } from '../auth/actor';
import { toCredential } from '../credential/credential.resolver';
import type { AlertStatus } from './alert.entity';
import { encodeGroupCursor, type AlertView, type GroupView } from './alert.service';
import {
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

function toGroupConnection(page: Page<GroupView>): Connection<KeyReuseGroup> {
  const edges = page.nodes.map((g) => ({ cursor: encodeGroupCursor(g.id), node: toGroup(g) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: page.endCursor },
  };
}

@Resolver(() => KeyReuseAlert)
export class AlertResolver {
  constructor(
    private readonly s: Services,
    private readonly pageMax: (first: number) => void,
  ) {}

  @Authorized()
  @Query(() => KeyReuseAlertConnection, { description: "Alerts that one of the tenant's keys is also stored elsewhere, newest first." })
  async keyReuseAlerts(
    @Arg('tenantId', () => ID) tenantId: string,
    @Args() page: PageArgsInput,
    @Ctx() ctx: GraphQLContext,
    @Arg('status', () => AlertStatusEnum, { nullable: true, description: 'Only this status.' }) status?: AlertStatus,
  ) {
    this.pageMax(page.first);
    const scoped = await this.s.scope.forTenant(actorOf(ctx), tenantId);
    return toConnection(await this.s.alerts.list(scoped, { status }, page), toKeyReuseAlert);
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => KeyReuseGroupConnection, { description: 'Credentials sharing a key, across tenants (platform admins only).' })
  async keyReuseGroups(@Args() page: PageArgsInput) {
    this.pageMax(page.first);
    return toGroupConnection(await this.s.alerts.groups(page));
  }

  @Authorized('ADMIN')
  @Mutation(() => KeyReuseAlertPayload, { description: 'Mark an alert as seen; it stays visible.' })
  acknowledgeKeyReuseAlert(@Arg('input') input: KeyReuseAlertInput, @Ctx() ctx: GraphQLContext) {
    return this.setStatus(input, ctx, 'ACKNOWLEDGED');
  }

  @Authorized('ADMIN')
  @Mutation(() => KeyReuseAlertPayload, { description: 'Dismiss an alert. It reopens if the key is registered again.' })
  dismissKeyReuseAlert(@Arg('input') input: KeyReuseAlertInput, @Ctx() ctx: GraphQLContext) {
    return this.setStatus(input, ctx, 'DISMISSED');
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => StartKeyRescanPayload, { description: 'Fingerprint every stored key again, in the background (platform admins only).' })
  startKeyRescan(@Ctx() ctx: GraphQLContext, @Arg('input', () => StartKeyRescanInput, { nullable: true }) input?: StartKeyRescanInput) {
    return mutate(() => this.s.keyRescans.start(auditActor(actorOf(ctx), ctx.requestId), input?.reason));
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => KeyRescanStatus, { description: 'Progress of a key rescan (platform admins only).' })
  keyRescan(@Arg('jobId', () => ID) jobId: string) {
    return this.s.keyRescans.status(jobId);
  }

  private setStatus(input: KeyReuseAlertInput, ctx: GraphQLContext, target: 'ACKNOWLEDGED' | 'DISMISSED') {
    return mutate(async () => {
      const tenantId = await this.s.alerts.tenantOf(actorOf(ctx), input.id, ['input', 'id']);
      const alert = await this.s.alerts.setStatus(tenantId, auditActor(actorOf(ctx), ctx.requestId), input.id, target);
      return { alert: toKeyReuseAlert(alert) };
    });
  }
}
