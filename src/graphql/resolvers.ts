import type { ClassType, ContainerType } from 'type-graphql';
import { AlertResolver } from '../modules/alert/alert.resolver';
import { CheckAlertResolver } from '../modules/alert/check-alert.resolver';
import { WebhookEndpointAlertResolver } from '../modules/alert/webhook-endpoint-alert.resolver';
import { AuditResolver } from '../modules/audit/audit.resolver';
import { ViewerResolver } from '../modules/auth/viewer.resolver';
import { CredentialResolver } from '../modules/credential/credential.resolver';
import { GatewayAttachmentResolver, GatewayResolver } from '../modules/gateway/gateway.resolver';
import { KeyCustodyResolver } from '../modules/key-custody/key-custody.resolver';
import { LiveResolver } from '../modules/live/live.resolver';
import { NodeResolver } from '../modules/node/node.resolver';
import { PlatformKeyResolver } from '../modules/platform-key/platform-key.resolver';
import { HostConfirmationResolver } from '../modules/provider/host-confirmation.resolver';
import { ProviderResolver } from '../modules/provider/provider.resolver';
import { ReminderResolver } from '../modules/reminder/reminder.resolver';
import { TenantResolver } from '../modules/tenant/tenant.resolver';
import { TokenResolver } from '../modules/token/token.resolver';
import { WebhookResolver } from '../modules/webhook/webhook.resolver';
import type { Services } from '../services';

/** A resolver class and how it is built; each constructor declares the services it uses. */
interface ResolverFactory<T extends object = object> {
  cls: ClassType<T>;
  make: (services: Services) => T;
}

const factory = <T extends object>(cls: ClassType<T>, make: (services: Services) => T): ResolverFactory<T> => ({ cls, make });

export const RESOLVERS: readonly ResolverFactory[] = [
  factory(ViewerResolver, (s) => new ViewerResolver(s)),
  factory(TenantResolver, (s) => new TenantResolver(s)),
  factory(TokenResolver, (s) => new TokenResolver(s)),
  factory(ProviderResolver, (s) => new ProviderResolver(s)),
  factory(HostConfirmationResolver, (s) => new HostConfirmationResolver(s)),
  factory(CredentialResolver, (s) => new CredentialResolver(s)),
  factory(GatewayResolver, (s) => new GatewayResolver(s)),
  factory(GatewayAttachmentResolver, () => new GatewayAttachmentResolver()),
  factory(AuditResolver, (s) => new AuditResolver(s)),
  factory(AlertResolver, (s) => new AlertResolver(s)),
  factory(CheckAlertResolver, (s) => new CheckAlertResolver(s)),
  factory(PlatformKeyResolver, (s) => new PlatformKeyResolver(s)),
  factory(ReminderResolver, (s) => new ReminderResolver(s)),
  factory(WebhookResolver, (s) => new WebhookResolver(s)),
  factory(WebhookEndpointAlertResolver, (s) => new WebhookEndpointAlertResolver(s)),
  factory(LiveResolver, (s) => new LiveResolver(s)),
  factory(KeyCustodyResolver, (s) => new KeyCustodyResolver(s)),
  factory(NodeResolver, (s) => new NodeResolver(s)),
];

/** Every resolver built once, at start-up, with its dependencies (constructor injection, no framework). */
export function resolverContainer(services: Services): ContainerType {
  const instances = new Map<unknown, object>(RESOLVERS.map((r) => [r.cls, r.make(services)]));
  return {
    get(cls: unknown) {
      const instance = instances.get(cls);
      if (!instance) throw new Error('resolver missing from RESOLVERS (src/graphql/resolvers.ts)');
      return instance;
    },
  };
}
