import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths censored in every log line. Secrets should never reach a logger in the first place;
 * this list is the second line of defence for request objects and inputs logged by accident.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  'headers.authorization',
  'authorization',
  'secret',
  'token',
  'apiKey',
  'plaintext',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.plaintext',
  'input.secret',
  'variables.input.secret',
  '*.variables.input.secret',
];

/** Socket errors name the peer ("connect ECONNREFUSED 10.0.0.5:5432"); the code is kept, the peer is not. */
const SOCKET_PEER = /\b(E(?:CONNREFUSED|CONNRESET|CONNABORTED|TIMEDOUT|HOSTUNREACH|HOSTDOWN|NETUNREACH|NETDOWN|NOTFOUND|AI_AGAIN|PIPE)) +[^\s,;)]+/g;
const IPV4_PEER = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g;
/** Fields Node and the drivers put on a socket error: where the database or Redis listens. */
const PEER_FIELDS = new Set(['address', 'port', 'host', 'hostname']);

export function scrubAddresses(text: string): string {
  return text.replace(SOCKET_PEER, '$1 [address]').replace(IPV4_PEER, '[address]');
}

/**
 * An error, as logged, without the address of the store it failed to reach: a database or Redis
 * outage must not print internal hosts and ports into logs that reach more people than the
 * operators (log shipping, support tickets). Name, code, message and stack are kept, scrubbed.
 */
export function scrubError(error: unknown, depth = 0): unknown {
  if (!error || typeof error !== 'object' || depth > 3) return typeof error === 'string' ? scrubAddresses(error) : error;
  const source = error as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (error instanceof Error) {
    out.type = error.name;
    out.message = scrubAddresses(error.message);
    if (error.stack) out.stack = scrubAddresses(error.stack);
  }
  for (const [key, value] of Object.entries(source)) {
    if (PEER_FIELDS.has(key) || key === 'driverError' || key === 'query' || key === 'parameters') continue;
    if (typeof value === 'string') out[key] = scrubAddresses(value);
    else if (key === 'errors' && Array.isArray(value)) out[key] = value.map((v) => scrubError(v, depth + 1));
    else if (key === 'cause') out[key] = scrubError(value, depth + 1);
    else if (value === null || typeof value !== 'object') out[key] = value;
  }
  return out;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: process.env.KEYPLANE_SERVICE ?? 'keyplane' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        log(object) {
          if (!('err' in object) && !('error' in object)) return object;
          const out = { ...object };
          if ('err' in out) out.err = scrubError(out.err);
          if ('error' in out) out.error = scrubError(out.error);
          return out;
        },
      },
    },
    destination,
  );
}

export type { Logger };
