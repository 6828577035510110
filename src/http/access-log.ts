import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Actor } from '../modules/auth/actor';
import type { AccessInfo, GraphQLContext } from '../graphql/context';

/*
 * Access lines never hold variables, bodies, headers or the raw URL (a query string may carry a
 * cursor or worse): the route template only. The record type lives with the GraphQL context.
 */

const ACCESS = Symbol('keyplane.access');
type Tagged = FastifyRequest & { [ACCESS]?: AccessInfo };

/** The access record of a request, created on first use (the GraphQL context calls it once). */
export function accessInfoOf(request: FastifyRequest): AccessInfo {
  const tagged = request as Tagged;
  return (tagged[ACCESS] ??= { actorType: null, tenantId: null, tokenId: null, operationName: null, operationType: null });
}

export function recordActor(info: AccessInfo, actor: Actor): void {
  info.tenantId = actor.tenantId;
  info.actorType = actor.type;
  // The platform admin token has no id of its own (its audit rows say "platform-admin").
  info.tokenId = actor.type === 'API_TOKEN' ? actor.id : null;
}

/** A GraphQL Name (parsed, so already [_A-Za-z][_0-9A-Za-z]*), bounded. */
const MAX_OPERATION_NAME = 100;

export function accessLogPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operationName, operation }) {
          const info = contextValue.access;
          if (!info) return;
          info.operationName = operationName ? operationName.slice(0, MAX_OPERATION_NAME) : null;
          info.operationType = operation?.operation ?? null;
        },
      };
    },
  };
}

/**
 * One info line per HTTP request, when it has been answered. Skipped at once when info is off
 * (the level check is the whole cost then); otherwise one object and one pino write.
 */
export function registerAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    if ((request.log as Logger).isLevelEnabled('info')) {
      const info = (request as Tagged)[ACCESS];
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 100) / 100,
          operationName: info?.operationName ?? null,
          operationType: info?.operationType ?? null,
          actorType: info?.actorType ?? null,
          tenantId: info?.tenantId ?? null,
          tokenId: info?.tokenId ?? null,
        },
        'request',
      );
    }
    done();
  });
}

/** The same line for answers sent outside fastify (the gateway-config fast path's 304s). */
export function logFastPathAccess(log: Logger, method: string, route: string, status: number, seconds: number): void {
  if (!log.isLevelEnabled('info')) return;
  log.info({ method, route, status, durationMs: Math.round(seconds * 100_000) / 100 }, 'request');
}
