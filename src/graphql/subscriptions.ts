import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { GraphQLError, getOperationAST, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type Context } from 'graphql-ws';
import type { Logger } from 'pino';
import type { PubSub } from 'type-graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LiveService } from '../modules/live/live.service';
import type { Actor } from '../modules/auth/actor';
import type { Services } from '../services';
import type { GraphQLContext } from './context';
import { hashToken } from '../crypto';
import { AccessError, BadRequestError } from '../errors';
import { bearerToken } from '../modules/auth/bearer';
import { requestIdOf } from '../http/request-id';
import { createFormatError, safeError } from './errors';
import { createRequestGuard, RequestLimitError, type RequestLimits } from './request-guard';
import { createLoaders, type LoaderDeps } from './loaders';
import { TokenSessions } from './socket-sessions';

/** The context of an operation over WebSocket: the usual one plus the live event streams. */
export interface LiveContext extends GraphQLContext {
  live: LiveService;
}

/** Subscriptions exist only over WebSocket; anywhere else this fails closed. */
export function liveOf(ctx: GraphQLContext): LiveService {
  const live = (ctx as Partial<LiveContext>).live;
  if (!live)
    throw new GraphQLError('Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.', { extensions: { code: 'BAD_REQUEST' } });
  return live;
}

/**
 * type-graphql insists on a PubSub once a @Subscription exists. Ours subscribe through their own
 * `subscribe` functions (tenant-checked LiveService streams), so nothing may route through this.
 */
export const NO_PUBSUB: PubSub = {
  publish: () => {
    throw new Error('publish through src/events (Redis), not the schema PubSub');
  },
  subscribe: () => {
    throw new Error('subscriptions use their own subscribe functions');
  },
};

export interface SubscriptionDeps {
  schema: GraphQLSchema;
  services: Pick<Services, 'auth' | 'invalidations' | 'live'> & LoaderDeps;
  log: Logger;
  limits: Readonly<RequestLimits>;
  pageSizeMax: number;
  /** Field suggestions ("Did you mean …") in validation errors: only where introspection is on. */
  hideSuggestions: boolean;
  /** Counts each subscription attempt (operation metrics). */
  onOperation?: (result: 'success' | 'error') => void;
  /** The backstop re-check of open sockets' tokens (socket-sessions.ts); tests shorten it. */
  recheckMs?: number;
}

const MAX_SUBSCRIPTIONS_PER_SOCKET = 25;
const KEEPALIVE_MS = 12_000;
type Extra = { requestId: string; close: (code: number, reason: string) => void; untrack?: () => void; gone?: boolean };

/** Apollo's codes for request errors, so one formatError treats both transports alike. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  if (typeof error.extensions?.code === 'string') return error;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code } });
}

/**
 * graphql-transport-ws on the API's own HTTP server at /graphql. Queries and mutations stay on
 * HTTP (where the cost limit, CSRF rules and metrics apply); only subscriptions are served here.
 * The token travels in connectionParams.authorization, not a cookie, so a cross-site page cannot
 * ride on a browser's session (no origin check needed).
 */
export function attachSubscriptions(app: FastifyInstance, deps: SubscriptionDeps): void {
  const formatError = createFormatError(deps.log, deps.schema);
  const sessions = new TokenSessions(deps.services.auth, deps.services.invalidations, deps.log, deps.recheckMs);
  const guard = createRequestGuard(deps.schema, deps.limits, 'websocket');
  const fail = (message: string, code: string) => [new GraphQLError(message, { extensions: { code } })];
  const authenticate = (ctx: Context<Record<string, unknown> | undefined, Extra>) => {
    const authorization = ctx.connectionParams?.authorization;
    return deps.services.auth.authenticate(typeof authorization === 'string' ? authorization : undefined).catch((error: unknown): Actor | null => {
      if (!(error instanceof AccessError || error instanceof BadRequestError)) {
        deps.log.error({ err: safeError(error) }, 'could not authenticate websocket');
      }
      return null;
    });
  };

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    schema: deps.schema,
    // Unauthenticated or bad token: the socket closes with 4403 before any operation runs. A tenant
    // token is tracked from here on: revoking it (or changing its role) closes the socket.
    onConnect: async (ctx) => {
      const ticket = sessions.ticket();
      const actor = await authenticate(ctx);
      if (!actor) return false;
      const token = bearerToken(String(ctx.connectionParams?.authorization));
      if (actor.type === 'API_TOKEN' && token) {
        const session = { tokenHash: hashToken(token), tenantId: actor.tenantId, role: actor.role, close: ctx.extra.close };
        ctx.extra.untrack = sessions.add(session, ticket);
        if (ctx.extra.gone) ctx.extra.untrack(); // closed while it authenticated
      }
      return true;
    },
    onSubscribe: async (ctx, _id, payload) => {
      // Re-checked per operation, so a revoked token cannot start new subscriptions.
      const actor = await authenticate(ctx);
      if (!actor) return fail('The token is not valid.', 'UNAUTHENTICATED');
      if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_SOCKET) {
        return fail(`At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection.`, 'BAD_REQUEST');
      }
      try {
        guard(payload.query);
      } catch (error) {
        if (error instanceof RequestLimitError) return [error];
        throw error;
      }
      let document: DocumentNode;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [withCode(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
      }
      let errors: readonly GraphQLError[];
      try {
        errors = validate(deps.schema, document, specifiedRules, { hideSuggestions: deps.hideSuggestions });
      } catch (error) {
        // graphql-js 16 throws, rather than reports, a bad literal in a subscription's top-level
        // @include/@skip (SingleFieldSubscriptionsRule evaluates it): still the sender's mistake.
        if (!(error instanceof GraphQLError)) throw error;
        errors = [error];
      }
      if (errors.length > 0) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
      if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') {
        return fail('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.', 'BAD_REQUEST');
      }
      const contextValue: LiveContext = {
        actor,
        requestId: ctx.extra.requestId,
        loaders: createLoaders(deps.services),
        pageSizeMax: deps.pageSizeMax,
        live: deps.services.live,
      };
      return { schema: deps.schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
    },
    onOperation: (_ctx, _id, _payload, _args, result) => {
      deps.onOperation?.(Symbol.asyncIterator in Object(result) ? 'success' : 'error');
    },
    onError: (ctx, _id, _payload, errors) => {
      deps.onOperation?.('error');
      // Codes only: a request error's text, even masked, says nothing an operator needs.
      deps.log.info({ requestId: ctx.extra.requestId, codes: errors.map((e) => e.extensions?.code ?? 'UNKNOWN') }, 'websocket operation rejected');
      return errors.map((e) => formatError(e.toJSON(), e));
    },
    // Errors without a path are request errors (bad variables): BAD_USER_INPUT, whose message
    // formatError rebuilds so a submitted value is never echoed.
    onNext: (_ctx, _id, _payload, _args, result) =>
      result.errors
        ? { ...result, errors: result.errors.map((e) => (e.path ? e : withCode(e, 'BAD_USER_INPUT'))).map((e) => formatError(e.toJSON(), e)) }
        : undefined,
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, handleProtocols });
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => serve(ws, request));
  });

  function serve(ws: WebSocket, request: IncomingMessage): void {
    const requestId = requestIdOf(request.headers['x-request-id']);
    const extra: Extra = { requestId, close: (code, reason) => ws.close(code, reason) };
    // A peer that stops answering pings is dropped, so half-open sockets do not pile up.
    let alive = true;
    const keepalive = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, KEEPALIVE_MS);
    ws.on('pong', () => (alive = true));
    ws.on('error', (error) => deps.log.debug({ err: { name: error.name, message: error.message } }, 'websocket error'));
    const closed = server.opened(
      {
        protocol: ws.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => (ws.readyState === ws.OPEN ? ws.send(data, (e) => (e ? reject(e) : resolve())) : resolve())),
        close: (code, reason) => ws.close(code, reason),
        onMessage: (cb) =>
          ws.on('message', async (data) => {
            try {
              await cb(String(data));
            } catch (error) {
              // No message: graphql-js errors quote the request, which can hold a key.
              deps.log.warn({ requestId, err: { name: error instanceof Error ? error.name : typeof error } }, 'websocket message failed');
              ws.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      extra,
    );
    ws.once('close', (code, reason) => {
      clearInterval(keepalive);
      extra.gone = true;
      extra.untrack?.();
      void closed(code, String(reason));
    });
  }

  // Before the HTTP server stops: sockets would otherwise hold server.close() open. 1001 tells
  // clients to reconnect, which they do against another instance.
  app.addHook('preClose', async () => {
    sessions.close();
    const open = [...wss.clients].filter((ws) => ws.readyState !== ws.CLOSED);
    await Promise.all(
      open.map(
        (ws) =>
          new Promise<void>((resolve) => {
            const force = setTimeout(() => ws.terminate(), 2_000);
            ws.once('close', () => {
              clearTimeout(force);
              resolve();
            });
            ws.close(1001, 'Server shutting down');
          }),
      ),
    );
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
}
