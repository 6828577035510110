import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import { actorOf } from '../../graphql/context';
import { liveOf } from '../../graphql/subscriptions';
import type { LiveEvents } from '../../events/types';
import type { Services } from '../../services';
import { toCredential } from '../credential/credential.resolver';
import { toEndpointAlert } from '../alert/webhook-endpoint-alert.resolver';
import { WebhookEndpointAlertEvent } from '../alert/webhook-endpoint-alert.type';
import { CredentialEvent, KeyReuseAlertEvent } from './live.type';

export type LiveResolverDeps = Pick<Services, 'credentials' | 'live' | 'endpointAlerts'>;

/**
 * Live updates for settings pages, over WebSocket only. Subscribing checks the tenant like any
 * read (another tenant's id is NOT_FOUND); events are filtered by tenant before they get here, and
 * each one is re-read within the subscriber's tenant, so an event never carries data itself.
 */
@Resolver()
export class LiveResolver {
  constructor(private readonly s: LiveResolverDeps) {}

  @Authorized()
  @Subscription(() => CredentialEvent, {
    description:
      'A credential of the tenant changed (by a worker): its status, or the outcome or models a check found. A re-check with the same result sends nothing.',
    subscribe: ({ args, context }) => liveOf(context).subscribe(actorOf(context), 'CREDENTIAL_CHANGED', args.tenantId),
  })
  async credentialChanged(@Arg('tenantId', () => ID) tenantId: string, @Root() event: LiveEvents['CREDENTIAL_CHANGED']): Promise<CredentialEvent> {
    const credential = await this.s.credentials.get(tenantId, event.credentialId);
    return { tenantId, credentialId: credential.id, credential: toCredential(credential) };
  }

  @Authorized()
  @Subscription(() => KeyReuseAlertEvent, {
    description: "A key reuse alert was raised or reopened on one of the tenant's credentials.",
    subscribe: ({ args, context }) => liveOf(context).subscribe(actorOf(context), 'KEY_REUSE_ALERT', args.tenantId),
  })
  async keyReuseAlertRaised(@Arg('tenantId', () => ID) tenantId: string, @Root() event: LiveEvents['KEY_REUSE_ALERT']): Promise<KeyReuseAlertEvent> {
    const credentialId = await this.s.live.alertCredentialId(tenantId, event.alertId);
    return { tenantId, alertId: event.alertId, credentialId };
  }

  @Authorized()
  @Subscription(() => WebhookEndpointAlertEvent, {
    description: "Keyplane stopped sending to one of the tenant's webhook endpoints (410 Gone, or too many failed deliveries in a row).",
    subscribe: ({ args, context }) => liveOf(context).subscribe(actorOf(context), 'WEBHOOK_ENDPOINT_DISABLED', args.tenantId),
  })
  async webhookEndpointDisabled(
    @Arg('tenantId', () => ID) tenantId: string,
    @Root() event: LiveEvents['WEBHOOK_ENDPOINT_DISABLED'],
  ): Promise<WebhookEndpointAlertEvent> {
    const alert = await this.s.endpointAlerts.get(tenantId, event.alertId);
    return { tenantId, alertId: alert.id, alert: toEndpointAlert(alert) };
  }
}
