import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type ContainerType } from 'type-graphql';
import './enums';
import { AlertResolver } from '../modules/alert/alert.resolver';
import { AuditResolver } from '../modules/audit/audit.resolver';
import { ViewerResolver } from '../modules/auth/viewer.resolver';
import { CredentialResolver } from '../modules/credential/credential.resolver';
import { GatewayAttachmentResolver, GatewayResolver } from '../modules/gateway/gateway.resolver';
import { LiveResolver } from '../modules/live/live.resolver';
import { PlatformKeyResolver } from '../modules/platform-key/platform-key.resolver';
import { HostConfirmationResolver } from '../modules/provider/host-confirmation.resolver';
import { ProviderResolver } from '../modules/provider/provider.resolver';
import { ReminderResolver } from '../modules/reminder/reminder.resolver';
import { TenantResolver } from '../modules/tenant/tenant.resolver';
import { TokenResolver } from '../modules/token/token.resolver';
import { WebhookResolver } from '../modules/webhook/webhook.resolver';
import { authChecker } from './auth-checker';
import { NO_PUBSUB } from './subscriptions';

export const RESOLVERS = [
  ViewerResolver,
  TenantResolver,
  TokenResolver,
  ProviderResolver,
  HostConfirmationResolver,
  CredentialResolver,
  GatewayResolver,
  GatewayAttachmentResolver,
  AuditResolver,
  AlertResolver,
  PlatformKeyResolver,
  ReminderResolver,
  WebhookResolver,
  LiveResolver,
] as const;

/** Resolver instances are built once with their dependencies (constructor injection, no framework). */
export function resolverContainer(make: (cls: new (...args: never[]) => object) => object): ContainerType {
  const instances = new Map<unknown, object>();
  return {
    get(cls: new (...args: never[]) => object) {
      let instance = instances.get(cls);
      if (!instance) instances.set(cls, (instance = make(cls)));
      return instance;
    },
  };
}

/*
 * Every @ObjectType is declared with `simpleResolvers: true`: its plain fields resolve with
 * graphql-js's default resolver instead of a type-graphql wrapper that would run no middleware
 * anyway (there are no global middlewares and no field-level @Authorized on object types). A
 * 50-item page runs hundreds of those fields. @FieldResolver methods are not affected: they keep
 * type-graphql's handler (parameters, auth). Adding a field-level @Authorized or a middleware to an
 * object type means turning simpleResolvers off for that type.
 */
export async function buildKeyplaneSchema(container?: ContainerType): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS],
    authChecker,
    // Input rules live in the services and come back as userErrors; type-graphql only types.
    validate: false,
    // Subscriptions bring their own tenant-checked streams (src/graphql/subscriptions.ts).
    pubSub: NO_PUBSUB,
    container: container ?? {
      get: () => {
        throw new Error('schema built without services');
      },
    },
  });
}

/** The committed SDL: sorted, so that a diff shows only real changes. */
export function printSortedSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
