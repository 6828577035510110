import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import fastifyCors from '@fastify/cors';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import { AccessError, BadRequestError, DATABASE_RETRY_SECONDS, DATABASE_UNAVAILABLE_MESSAGE } from '../errors';
import { buildKeyplaneSchema } from '../graphql/build-schema';
import type { GraphQLContext } from '../graphql/context';
import { apolloLogger, createFormatError, databaseUnavailable, safeError } from '../graphql/errors';
import { keyCheckCapPlugin } from '../graphql/key-check-cap';
import { complexityPlugin } from '../graphql/limits';
import { createRequestGuard } from '../graphql/request-guard';
import { createLoaders } from '../graphql/loaders';
import { resolverContainer } from '../graphql/resolvers';
import { attachSubscriptions } from '../graphql/subscriptions';
import type { Services } from '../services';
import { registerAuditRoutes } from './audit.route';
import { gatewayConfigFastPath, registerGatewayConfigRoute } from './gateway-config.route';
import { registerOpenApiRoute } from './openapi';
import { registerOps } from './ops';
import { requestIdOf } from './request-id';

export interface ServerDeps {
  config: Readonly<Config>;
  db: DataSource;
  services: Services;
  log: Logger;
}

/** Builds the HTTP server: GraphQL at /graphql (HTTP and WebSocket), ops routes and the gateway config pull. */
export async function buildServer({ config, db, services, log }: ServerDeps): Promise<FastifyInstance> {
  // Requests the gateway-config fast path answers never reach fastify (set once routes exist).
  let fastPath: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;
  const app = Fastify({
    serverFactory: (handler, options) => {
      const server = createServer((req, res) => {
        if (!fastPath?.(req, res)) handler(req, res);
      });
      // What fastify sets on a server it creates itself.
      const { keepAliveTimeout, requestTimeout } = options as { keepAliveTimeout?: number; requestTimeout?: number };
      server.keepAliveTimeout = keepAliveTimeout ?? 72_000;
      server.requestTimeout = requestTimeout ?? 0;
      return server;
    },
    loggerInstance: log as FastifyBaseLogger,
    // Per-request access lines cost more than they tell at our request rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => requestIdOf(req.headers['x-request-id']),
    bodyLimit: 1024 * 1024,
  });

  const schema = await buildKeyplaneSchema(resolverContainer(services));
  // The invalidation listener holds one connection to PostgreSQL: while it is down, an unexpected
  // error is taken for the database being unreachable (src/graphql/errors.ts).
  const databaseDown = () => !services.invalidations.listening;
  const pageSizeMax = config.graphql.pageSizeMax;
  // Health, metrics, queue dashboard; first, so its HTTP metrics hook sees every route.
  const ops = await registerOps(app, { config, db, services, log });
  attachSubscriptions(app, {
    schema,
    services,
    log,
    limits: config.graphql.limits,
    pageSizeMax,
    hideSuggestions: !config.graphql.introspection,
    onOperation: ops.countSubscription,
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.graphql.introspection,
    // "Did you mean …" maps the schema: shown only where introspection is on anyway.
    hideSchemaDetailsFromClientErrors: !config.graphql.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(log, schema, databaseDown),
    logger: apolloLogger(log),
    // No HTTP cache hints are ever sent (every answer is per-token), so the per-field cache-control
    // bookkeeping Apollo does by default is pure cost (about 7% of a list query's latency here).
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      fastifyApolloDrainPlugin(app),
      complexityPlugin(schema, config.graphql.maxComplexity),
      keyCheckCapPlugin(config.keyChecks.perRequest),
      ops.apolloPlugin,
      readYourWrites(services),
    ],
  });
  await apollo.start();

  if (config.corsOrigins.length > 0) {
    // Explicit origins only: bearer tokens, not cookies, so no credentials mode is needed.
    await app.register(fastifyCors, { origin: config.corsOrigins, methods: ['GET', 'POST'], maxAge: 600 });
  }

  const guard = createRequestGuard(schema, config.graphql.limits);
  await app.register(fastifyApollo(apollo), {
    path: '/graphql',
    // Apollo builds the context before it parses anything: the token, then the request limits,
    // are checked here, so neither an anonymous caller nor a hostile document reaches the parser
    // and validation rules. There are no anonymous operations: no token is a 401.
    context: async (request): Promise<GraphQLContext> => {
      let actor;
      try {
        actor = await services.auth.authenticate(request.headers.authorization);
      } catch (error) {
        if (error instanceof AccessError || error instanceof BadRequestError) {
          services.security.authFailed(request.ip, 'graphql');
          throw unauthenticated(error.message);
        }
        if (databaseUnavailable(error, databaseDown)) {
          // Every request authenticates against PostgreSQL: while it is unreachable, say so (503,
          // retryable) instead of a 500 a client cannot tell from a bug.
          request.log.warn('could not authenticate request: database unreachable');
          throw new GraphQLError(DATABASE_UNAVAILABLE_MESSAGE, {
            extensions: {
              code: 'SERVICE_UNAVAILABLE',
              retryAfter: DATABASE_RETRY_SECONDS,
              http: { status: 503, headers: new Map([['retry-after', String(DATABASE_RETRY_SECONDS)]]) },
            },
          });
        }
        request.log.error({ err: safeError(error) }, 'could not authenticate request');
        throw new GraphQLError('Internal server error.', { extensions: { code: 'INTERNAL_SERVER_ERROR', http: { status: 500 } } });
      }
      if (!actor) throw unauthenticated('Authentication is required.');
      guard(documentOf(request.body) ?? documentOf(request.query));
      return { actor, requestId: String(request.id), loaders: createLoaders(services), pageSizeMax };
    },
  });

  registerGatewayConfigRoute(app, { services });
  registerAuditRoutes(app, { services, db });
  registerOpenApiRoute(app);
  fastPath = gatewayConfigFastPath(services, ops.observeHttp);
  return app;
}

const unauthenticated = (message: string) => new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/** The `query` of a POST body or a GET query string, whatever else the request holds. */
function documentOf(holder: unknown): unknown {
  return holder && typeof holder === 'object' ? (holder as { query?: unknown }).query : undefined;
}

/**
 * A mutation's answer leaves only once this process has heard the change notifications its own
 * commit sent, so its next request (a revoked token, a rotated gateway key) never sees a cached
 * state from before it. One round trip on the listener connection, mutations only.
 */
function readYourWrites(services: Pick<Services, 'invalidations'>): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation }) {
          if (operation?.operation === 'mutation') await services.invalidations.sync();
        },
      };
    },
  };
}
