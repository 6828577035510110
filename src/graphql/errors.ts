import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { KekUnavailableError, KeyVersionUnavailableError } from '../crypto';
import { isDatabaseUnreachable } from '../db/availability';
import { isAuditWriteFailure } from '../db/pg-errors';
import {
  AccessError,
  AuditWriteError,
  BadRequestError,
  DATABASE_RETRY_SECONDS,
  DATABASE_UNAVAILABLE_MESSAGE,
  DomainError,
  DomainErrors,
  RateLimitedError,
  ServiceUnavailableError,
} from '../errors';
import { maskMessage, schemaNames } from './mask';
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

export const KEY_VERSION_UNAVAILABLE_MESSAGE = 'A stored secret is sealed under a master key version this server does not hold yet. Try again later.';
export const KEY_VERSION_RETRY_SECONDS = 30;
export const KEK_UNAVAILABLE_MESSAGE = 'The key store holding the master key is unavailable. Try again later.';

/**
 * Codes whose message graphql-js or Apollo wrote from the request itself (see mask.ts), and what a
 * message of unknown shape becomes. Every other code's message is our own fixed wording.
 */
const REQUEST_MESSAGE_FALLBACK: Record<string, string> = {
  GRAPHQL_PARSE_FAILED: 'Syntax Error: the document could not be parsed.',
  GRAPHQL_VALIDATION_FAILED: 'The operation is not valid for this schema.',
  BAD_USER_INPUT: 'An argument or variable has an invalid value.',
  OPERATION_RESOLUTION_FAILURE: 'Could not tell which operation to run.',
};

/** A request error's message with every value and every name the schema does not define masked. */
export function requestMessage(code: string, message: string, schema: GraphQLSchema): string {
  const fallback = REQUEST_MESSAGE_FALLBACK[code];
  return fallback === undefined ? message : maskMessage(message, schemaNames(schema), fallback);
}

/**
 * The one mapping from errors to what a client sees. Known errors keep their code and our own
 * message; anything else is masked as INTERNAL_SERVER_ERROR and logged with the request id.
 * Stack traces never leave the server.
 */
export function createFormatError(log: Logger, schema: GraphQLSchema, databaseDown: () => boolean = () => false) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    if (databaseUnavailable(original, databaseDown)) {
      // Retryable and not a bug: a client waits retryAfter seconds and asks again. The driver's
      // text (the database's host and port) is neither answered nor logged.
      log.warn({ path: formatted.path, code: driverCode(original) }, 'database unreachable during a GraphQL operation');
      return { ...base, message: DATABASE_UNAVAILABLE_MESSAGE, extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: DATABASE_RETRY_SECONDS } };
    }
    if (original instanceof AccessError) {
      return { ...base, message: original.message, extensions: { code: original.code } };
    }
    if (original instanceof RateLimitedError) {
      return { ...base, message: original.message, extensions: { code: 'RATE_LIMITED', retryAfter: original.retryAfterSeconds } };
    }
    if (original instanceof ServiceUnavailableError) {
      if (original instanceof AuditWriteError)
        log.warn({ err: safeError(original.cause), path: formatted.path }, 'audit write failed; change rolled back');
      return { ...base, message: original.message, extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: original.retryAfterSeconds } };
    }
    if (original instanceof KekUnavailableError) {
      // The HSM is unreachable or refused the session: the reason is a PKCS#11 code, never a PIN.
      log.warn(
        { kekVersion: original.kekVersion, provider: original.provider, reason: original.reason, path: formatted.path },
        'key store unavailable',
      );
      return { ...base, message: KEK_UNAVAILABLE_MESSAGE, extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: KEY_VERSION_RETRY_SECONDS } };
    }
    if (original instanceof KeyVersionUnavailableError) {
      // Not the caller's fault and not tampering: the keyring of this API lacks a version. Retryable.
      log.warn({ kekVersion: original.kekVersion, path: formatted.path }, 'record sealed under a key version this process lacks');
      return {
        ...base,
        message: KEY_VERSION_UNAVAILABLE_MESSAGE,
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: KEY_VERSION_RETRY_SECONDS },
      };
    }
    if (isAuditWriteFailure(original)) {
      // Statements that write audit rows themselves (group-commit creates, fan-outs): rolled back too.
      log.warn({ err: safeError(original), path: formatted.path }, 'audit write failed; change rolled back');
      return { ...base, message: new AuditWriteError(null).message, extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 } };
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
      return { ...base, message: requestMessage(code, formatted.message, schema), extensions: { code } };
    }
    // graphql-js's own errors quote the request (an argument literal that failed at execution), in
    // their stack's first line too: their message is masked and their stack dropped.
    const err =
      original instanceof GraphQLError
        ? { type: original.name, message: maskMessage(original.message, schemaNames(schema), '(masked)') }
        : safeError(original);
    log.error({ err, path: formatted.path }, 'unhandled error in GraphQL operation');
    return { message: 'Internal server error.', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/**
 * PostgreSQL could not be reached: a driver error that says so by its code, or an unexpected
 * error while this process's invalidation listener (one connection to the same database) is down,
 * which covers the driver's few code-less errors ("Connection terminated unexpectedly").
 */
export function databaseUnavailable(original: unknown, databaseDown: () => boolean = () => false): boolean {
  if (original instanceof GraphQLError) {
    // Thrown by the context (src/http/server.ts); Apollo prefixes "Context creation failed: ".
    return original.extensions?.code === 'SERVICE_UNAVAILABLE' && original.message.endsWith(DATABASE_UNAVAILABLE_MESSAGE);
  }
  if (!(original instanceof Error) || original instanceof KeyVersionUnavailableError) return false;
  if (original instanceof AccessError || original instanceof DomainError || original instanceof DomainErrors) return false;
  if (original instanceof RateLimitedError || original instanceof BadRequestError || original instanceof RequestLimitError) return false;
  if (original instanceof ServiceUnavailableError) return original.message === DATABASE_UNAVAILABLE_MESSAGE;
  return isDatabaseUnreachable(original) || databaseDown();
}

function driverCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What of an unexpected error is logged: name, message, stack and a driver code. Not the whole
 * object: TypeORM's QueryFailedError carries the query parameters, which could hold input.
 */
export function safeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const driver = (error as { driverError?: { code?: string } }).driverError;
  return { type: error.name, message: error.message, stack: error.stack, code: driver?.code };
}

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Apollo's own log lines, through our logger. Apollo prints an unexpected error whole, with the
 * excerpt of the request around it ("Unexpected error processing request: GraphQLError: Argument
 * "if" has invalid value "sk-…"" plus the source line), so only the wording before the first ':'
 * is kept; the error itself reaches formatError, which logs it masked.
 */
export function apolloLogger(log: Logger): Record<LogLevel, (message?: unknown) => void> {
  const line = (level: LogLevel) => (message?: unknown) => log[level]({ component: 'apollo' }, String(message).split(':')[0].slice(0, 160));
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
