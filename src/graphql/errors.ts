import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AccessError, BadRequestError, DomainError, DomainErrors, RateLimitedError } from '../errors';
import { RequestLimitError } from './request-guard';

const KNOWN_GRAPHQL_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'QUERY_TOO_COMPLEX',
  'TOO_MANY_KEY_CHECKS',
]);

/**
 * The one mapping from errors to what a client sees. Known errors keep their code and our own
 * message; anything else is masked as INTERNAL_SERVER_ERROR and logged with the request id.
 * Stack traces never leave the server.
 */
export function createFormatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    if (original instanceof AccessError) {
      return { ...base, message: original.message, extensions: { code: original.code } };
    }
    if (original instanceof RateLimitedError) {
      return { ...base, message: original.message, extensions: { code: 'RATE_LIMITED', retryAfter: original.retryAfterSeconds } };
    }
    if (original instanceof DomainErrors) {
      return { ...base, message: original.errors[0]?.message ?? 'Invalid input.', extensions: { code: 'BAD_USER_INPUT' } };
    }
    if (original instanceof DomainError) {
      const code = original.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'BAD_USER_INPUT';
      return { ...base, message: original.message, extensions: { code, reason: original.code } };
    }
    if (original instanceof RequestLimitError) {
      // Its message and extensions hold only the limit's name and numbers, never document text.
      const { code, limit, max } = original.extensions;
      return { message: original.message, extensions: { code, limit, max } };
    }
    if (original instanceof BadRequestError) {
      return { ...base, message: original.message, extensions: { code: 'BAD_USER_INPUT' } };
    }
    // Apollo files every validation-rule error under GRAPHQL_VALIDATION_FAILED; the depth limit keeps its own code.
    const inner = error instanceof GraphQLError ? error.originalError : undefined;
    const limited = inner instanceof GraphQLError && inner.extensions?.code === 'QUERY_TOO_COMPLEX';
    const code = limited ? 'QUERY_TOO_COMPLEX' : formatted.extensions?.code;
    if (typeof code === 'string' && KNOWN_GRAPHQL_CODES.has(code) && (original instanceof GraphQLError || !original)) {
      // Variable coercion errors can quote the submitted value; never echo input back.
      const message = code === 'BAD_USER_INPUT' ? scrubValue(formatted.message) : formatted.message;
      return { ...base, message, extensions: { code } };
    }
    log.error({ err: safeError(original), path: formatted.path }, 'unhandled error in GraphQL operation');
    return { message: 'Internal server error.', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

const NAME = '[_A-Za-z][_0-9A-Za-z]{0,63}';
const TYPE = '[_A-Za-z0-9!\\[\\]]{1,100}';
/** Value-free reasons graphql-js gives for a bad variable; anything else in the message may quote input. */
const COERCION_REASONS = [
  new RegExp(`Field "${NAME}" of required type "${TYPE}" was not provided\\.`, 'g'),
  new RegExp(`Field "${NAME}" is not defined by type "${NAME}"\\.`, 'g'),
  new RegExp(`Field "${NAME}" must be non-null\\.`, 'g'),
  new RegExp(`Expected type "${NAME}" to be an object\\.`, 'g'),
  new RegExp(`Expected non-nullable type "${TYPE}" not to be null\\.`, 'g'),
  /\b(?:Int|Float|String|Boolean|ID) cannot represent [a-z0-9 -]{0,40}value(?=:)/g,
  new RegExp(`Enum "${NAME}" cannot represent non-string value(?=:)`, 'g'),
  new RegExp(`does not exist in "${NAME}" enum\\.`, 'g'),
];

/**
 * What of an unexpected error is logged: name, message, stack and a driver code. Not the whole
 * object: TypeORM's QueryFailedError carries the query parameters, which could hold input.
 */
export function safeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const driver = (error as { driverError?: { code?: string } }).driverError;
  return { type: error.name, message: error.message, stack: error.stack, code: driver?.code };
}

/**
 * graphql-js writes `Variable "$input" got invalid value <the whole value> at "input.x"; <reason>`,
 * and the value (even the reason) can hold a submitted secret. Rebuild the sentence from the
 * variable name, the path and a known reason only; never cut the value out, it has no safe end.
 */
function scrubValue(message: string): string {
  const variable = new RegExp(`^Variable "\\$(${NAME})" got invalid value `).exec(message);
  if (!variable) return message.replace(/Value "[^"]*"/g, 'Value');
  let reason: RegExpMatchArray | undefined;
  for (const re of COERCION_REASONS) {
    for (const m of message.matchAll(re)) if (!reason || m.index! > reason.index!) reason = m;
  }
  const before = reason ? message.slice(0, reason.index) : message;
  const path = new RegExp(`at "(${NAME}(?:\\.${NAME}|\\[\\d{1,6}\\])*)"; $`).exec(before)?.[1];
  const why = reason ? `; ${reason[0].startsWith('does not') ? 'Value ' : ''}${reason[0].replace(/(?<!\.)$/, '.')}` : '.';
  return `Variable "$${variable[1]}" got an invalid value${path ? ` at "${path}"` : ''}${why}`;
}
