import { buildSchema, GraphQLError } from 'graphql';
import { KeyVersionUnavailableError } from '../../../src/crypto';
import { ServiceUnavailableError } from '../../../src/errors';
import { createFormatError } from '../../../src/graphql/errors';
import { createLogger } from '../../../src/logger';

/** Key custody: a record under a KEK version this process lacks is a retryable SERVICE_UNAVAILABLE, never INTERNAL_SERVER_ERROR. */
const format = createFormatError(createLogger('silent'), buildSchema('type Query { a: Int }'));
const wrap = (original: Error) => new GraphQLError('x', { path: ['a'], originalError: original });

it('a missing KEK version becomes SERVICE_UNAVAILABLE with retryAfter, naming no key', () => {
  const out = format({ message: 'x', path: ['a'] }, wrap(new KeyVersionUnavailableError(7)));
  expect(out.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryAfter: 30 });
  expect(out.message).toMatch(/master key version this server does not hold/);
});

it('ServiceUnavailableError keeps its own retryAfter', () => {
  const out = format({ message: 'x', path: ['a'] }, wrap(new ServiceUnavailableError('Later.', 5)));
  expect(out).toMatchObject({ message: 'Later.', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 } });
});
