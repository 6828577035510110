import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AccessError, BadRequestError, DomainError, DomainErrors } from '../errors';

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
    if (original instanceof DomainErrors) {
      return { ...base, message: original.errors[0]?.message ?? 'Invalid input.', extensions: { code: 'BAD_USER_INPUT' } };
    }
    if (original instanceof DomainError) {
      const code = original.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'BAD_USER_INPUT';
      return { ...base, message: original.message, extensions: { code, reason: original.code } };
    }
    if (original instanceof BadRequestError) {
      return { ...base, message: original.message, extensions: { code: 'BAD_USER_INPUT' } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && KNOWN_GRAPHQL_CODES.has(code) && (original instanceof GraphQLError || !original)) {
      // Variable coercion errors can quote the submitted value; never echo input back.
      const message = code === 'BAD_USER_INPUT' ? scrubValue(formatted.message) : formatted.message;
      return { ...base, message, extensions: { code } };
    }
    log.error({ err: original, path: formatted.path }, 'unhandled error in GraphQL operation');
    return { message: 'Internal server error.', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/** graphql-js writes `Variable "$input" got invalid value "…"`; keep the sentence, drop the value. */
function scrubValue(message: string): string {
  return message.replace(/got invalid value [\s\S]*?;/, 'got an invalid value;').replace(/Value "[^"]*"/g, 'Value');
}
