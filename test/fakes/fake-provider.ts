/**
 * A real HTTP server imitating the provider APIs Keyplane validates keys against, so tests
 * exercise the real client (headers, timeouts, redirects, body limits) rather than a mocked fetch.
 * Default answers copy the providers' real envelopes, including the partial key echo, so leak
 * tests have something to catch.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ScriptedResponse {
  status: number;
  /** A string is sent verbatim; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Send the status line, headers and a first body chunk, then stall until close(). */
  stallBody?: boolean;
}
/** Built per request from the key the request carried: see echoResponse. */
export interface EchoResponse {
  echo: number;
}
export type FakeResponse = ScriptedResponse | EchoResponse | { hang: true };

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
}

export const respond = {
  json: (status: number, body?: unknown, headers?: Record<string, string>): ScriptedResponse => ({ status, body, headers }),
  rateLimited: (retryAfterSeconds?: number): ScriptedResponse => ({
    status: 429,
    body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
    headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
  }),
  unavailable: (status = 503): ScriptedResponse => ({ status, body: { error: { message: 'Service unavailable' } } }),
  forbidden: (): ScriptedResponse => ({ status: 403, body: { error: { message: 'Forbidden', type: 'permission_error' } } }),
  noQuota: (): ScriptedResponse => ({
    status: 429,
    body: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } },
  }),
  redirect: (location: string, status = 302): ScriptedResponse => ({ status, headers: { location } }),
  hang: (): FakeResponse => ({ hang: true }),
  /** A hostile provider: the request's key in every field it can reach, with this status. */
  echo: (status: number): FakeResponse => ({ echo: status }),
};

export interface FakeProvider {
  baseUrl: string;
  requests: RecordedRequest[];
  respond: typeof respond;
  /** The key gets 200 with these models (default ones when omitted). */
  allow(key: string, models?: string[]): void;
  /** Queue responses for one key, consumed one per request, then back to the default. */
  script(key: string, ...responses: FakeResponse[]): void;
  /** Queue responses for any key; per-key scripts win. */
  scriptAll(...responses: FakeResponse[]): void;
  /** Forget allowed keys, scripts and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_MODELS = ['fake-model-b', 'fake-model-a'];

/** `host`: where to listen (loopback by default; a veth address for a process in another network namespace). */
/** `options.delayMs`: every answer waits this long (a provider's latency; the scale bench uses 20 ms). */
export async function startFakeProvider(host = '127.0.0.1', options: { delayMs?: number } = {}): Promise<FakeProvider> {
  const allowed = new Map<string, string[]>();
  const scripts = new Map<string, FakeResponse[]>();
  let anyScript: FakeResponse[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const nextScripted = (key: string | null): FakeResponse | undefined => {
    const own = key === null ? undefined : scripts.get(key);
    if (own && own.length > 0) return own.shift();
    return anyScript.shift();
  };

  const send = (res: ServerResponse, r: ScriptedResponse): void => {
    const isText = typeof r.body === 'string';
    const payload = r.body === undefined ? '' : isText ? (r.body as string) : JSON.stringify(r.body);
    const type = isText ? 'text/plain' : 'application/json';
    res.writeHead(r.status, { 'content-type': type, ...r.headers });
    if (r.stallBody) {
      // Half a body with no end: the client has headers but can never finish reading.
      res.write(payload.slice(0, Math.max(1, Math.floor(payload.length / 2))) || ' ');
      return;
    }
    res.end(payload);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({ method: req.method ?? '', path: url.pathname, query: url.search, headers: req.headers });
    const shape: Shape | null = shapeOf(req.method, url.pathname, req.headers);
    const key = keyOf(req.headers);

    const next = nextScripted(key);
    if (next && 'hang' in next) return; // never answered; close() destroys the socket
    const scripted = next && 'echo' in next ? echoResponse(shape, key ?? '', next.echo) : next;
    const found = scripted ?? (shape ? defaultResponse(shape, key, req.headers, allowed) : { status: 404, body: { error: 'not found' } });
    const chosen = found.delayMs || !options.delayMs ? found : { ...found, delayMs: options.delayMs };
    if (chosen.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        send(res, chosen);
      }, chosen.delayMs);
      timers.add(t);
      return;
    }
    send(res, chosen);
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://${host}:${port}`,
    requests,
    respond,
    allow: (key, models = DEFAULT_MODELS) => void allowed.set(key, models),
    script: (key, ...responses) => void scripts.set(key, [...(scripts.get(key) ?? []), ...responses]),
    scriptAll: (...responses) => void (anyScript = [...anyScript, ...responses]),
    reset: () => {
      allowed.clear();
      scripts.clear();
      anyScript = [];
      requests.length = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hanging and keep-alive sockets would otherwise hold server.close() and jest open.
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** Which provider API a request is speaking, from path plus the header that carries the key. */
function shapeOf(method: string | undefined, path: string, h: IncomingHttpHeaders): Shape | null {
  if (method !== 'GET') return null;
  if (path === '/v1/models') return h['x-api-key'] !== undefined && h.authorization === undefined ? 'anthropic' : 'openai';
  if (path === '/v1beta/models') return 'gemini';
  if (path === '/api/v1/key') return 'openrouter';
  return null;
}

type Shape = 'openai' | 'anthropic' | 'gemini' | 'openrouter';

function keyOf(h: IncomingHttpHeaders): string | null {
  const bearer = /^Bearer (.+)$/.exec(h.authorization ?? '');
  const header = bearer?.[1] ?? h['x-api-key'] ?? h['x-goog-api-key'];
  return typeof header === 'string' && header !== '' ? header : null;
}

/** Real providers echo the start and end of a wrong key; copy that so leak tests have teeth. */
const echo = (key: string | null): string => (key ? `${key.slice(0, 10)}${'*'.repeat(20)}${key.slice(-4)}` : '');

function defaultResponse(shape: Shape, key: string | null, h: IncomingHttpHeaders, allowed: Map<string, string[]>): ScriptedResponse {
  const models = key === null ? undefined : allowed.get(key);
  switch (shape) {
    case 'openai':
      if (models)
        return { status: 200, body: { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake' })) } };
      return {
        status: 401,
        body: {
          error: {
            message: `Incorrect API key provided: ${echo(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        },
      };
    case 'anthropic':
      if (h['anthropic-version'] === undefined) {
        return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } } };
      }
      if (models) {
        const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }));
        return { status: 200, body: { data, has_more: false, first_id: models[0] ?? null, last_id: models.at(-1) ?? null } };
      }
      return { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } };
    case 'gemini':
      if (models) return { status: 200, body: { models: models.map((id) => ({ name: `models/${id}`, displayName: id })) } };
      return {
        status: 400,
        body: {
          error: {
            code: 400,
            message: 'API key not valid. Please pass a valid API key.',
            status: 'INVALID_ARGUMENT',
            details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
          },
        },
      };
    case 'openrouter':
      if (models) return { status: 200, body: { data: { label: echo(key), usage: 0, limit: null, limit_remaining: null, is_free_tier: false } } };
      return { status: 401, body: { error: { message: 'User not found.', code: 401 } } };
  }
}

/** Ids an echoing provider lists that are real-looking and hold nothing of the key. */
export const ECHO_CLEAN_MODELS = ['echo-model-a', 'org/echo-model-b:latest'];

/**
 * Model ids of an echoing provider: the key whole, re-cased, in pieces, encoded, plus malformed
 * entries; only ECHO_CLEAN_MODELS may survive. Counts: see the tests.
 */
export function echoModelIds(key: string): unknown[] {
  const b64 = Buffer.from(key).toString('base64');
  return [
    ...ECHO_CLEAN_MODELS,
    key,
    key.toUpperCase(),
    `ft:${key}:org`,
    `model-${key.slice(4, 16)}`,
    `org/${key.slice(-10)}`,
    b64.replace(/=+$/, ''),
    Buffer.from(key.slice(2, 22)).toString('hex'),
    `${key.slice(0, 12)} with space`,
    'x'.repeat(129),
    42,
  ];
}

function echoResponse(shape: Shape | null, key: string, status: number): ScriptedResponse {
  const headers = {
    'x-request-id': key,
    'x-echo-base64': Buffer.from(key).toString('base64'),
    'retry-after': key,
    'www-authenticate': `Bearer realm="${key}"`,
  };
  const error = { message: `Incorrect API key provided: ${key}`, type: key, code: key, param: key };
  if (status !== 200) return { status, headers, body: { error, key } };
  const ids = echoModelIds(key);
  switch (shape) {
    case 'gemini':
      return { status, headers, body: { models: ids.map((id) => ({ name: typeof id === 'string' ? `models/${id}` : id })), error } };
    case 'openrouter':
      return { status, headers, body: { data: { label: key, limit_remaining: null }, error } };
    default:
      return { status, headers, body: { object: 'list', data: ids.map((id) => ({ id, owned_by: key })), has_more: false, error } };
  }
}
