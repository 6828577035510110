import { Arg, Authorized, ID, Query, Resolver } from 'type-graphql';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { CurrentActor, Page } from '../../graphql/params';
import type { Services } from '../../services';
import type { Actor } from '../auth/actor';
import { toCredential } from '../credential/credential.resolver';
import type { CheckAlertStatus } from './check-alert.entity';
import type { CheckAlertView } from './check-alert.service';
import { CheckAlertStatusEnum, CredentialCheckAlert, CredentialCheckAlertConnection } from './check-alert.type';

const MESSAGES: Record<CredentialCheckAlert['kind'], string> = {
  CHECK_EXHAUSTED: 'This key could not be checked: the provider stayed rate limited or unavailable through every retry.',
};

/** Entity -> API shape: only the declared fields. */
export function toCheckAlert(a: CheckAlertView): CredentialCheckAlert {
  return {
    id: a.id,
    credential: toCredential(a.credential),
    version: a.version,
    kind: a.kind,
    outcome: a.outcome,
    status: a.status,
    occurrences: a.occurrences,
    message: MESSAGES[a.kind],
    createdAt: a.createdAt,
    lastSeenAt: a.lastSeenAt,
    resolvedAt: a.resolvedAt,
  };
}

export type CheckAlertResolverDeps = Pick<Services, 'scope' | 'checkAlerts'>;

@Resolver(() => CredentialCheckAlert)
export class CheckAlertResolver {
  constructor(private readonly s: CheckAlertResolverDeps) {}

  @Authorized()
  @Query(() => CredentialCheckAlertConnection, { description: "A tenant's alerts about keys that could not be checked, newest first." })
  async credentialCheckAlerts(
    @Arg('tenantId', () => ID) tenantId: string,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
    @Arg('status', () => CheckAlertStatusEnum, { nullable: true, description: 'Only this status.' }) status?: CheckAlertStatus,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return toConnection(await this.s.checkAlerts.list(scoped, { status }, page), toCheckAlert);
  }
}
