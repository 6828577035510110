import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { buildSchema, GraphQLError } from 'graphql';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnreachable } from '../../../src/db/availability';
import { DatabaseUnavailableError, DomainError } from '../../../src/errors';
import { createFormatError } from '../../../src/graphql/errors';
import { registerGatewayConfigRoute } from '../../../src/http/gateway-config.route';
import { createLogger, scrubAddresses } from '../../../src/logger';

/** PostgreSQL unreachable: a typed, retryable SERVICE_UNAVAILABLE, never a 500, and never the driver's text. */
const lines: string[] = [];
const log = createLogger(
  'debug',
  new Writable({
    write(chunk, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  }),
);
const schema = buildSchema('type Query { a: Int }');
const wrap = (original: Error) => new GraphQLError('x', { path: ['a'], originalError: original });
const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED', address: '10.1.2.3', port: 5432 });
const queryFailed = (code: string) =>
  new QueryFailedError('SELECT 1', [], Object.assign(new Error('terminating connection due to administrator command'), { code }));

beforeEach(() => (lines.length = 0));

describe('GraphQL while PostgreSQL is unreachable', () => {
  const format = createFormatError(log, schema);
  const unavailable = { code: 'SERVICE_UNAVAILABLE', retryAfter: 5 };

  it.each([
    ['a refused connection', refused()],
    [
      'a refused connection to every address (AggregateError)',
      Object.assign(new AggregateError([refused(), refused()], ''), { code: 'ECONNREFUSED' }),
    ],
    ['an admin shutdown (57P01)', queryFailed('57P01')],
    ['cannot connect now (57P03)', queryFailed('57P03')],
    ['a connection exception (08006)', queryFailed('08006')],
    ['the typed error', new DatabaseUnavailableError()],
  ])('%s is SERVICE_UNAVAILABLE with retryAfter and a fixed message', (_name, error) => {
    const out = format({ message: 'x', path: ['a'] }, wrap(error));
    expect(out.extensions).toEqual(unavailable);
    expect(out.message).toBe('The database is unreachable. Try again after retryAfter seconds.');
    expect(JSON.stringify(out) + lines.join('')).not.toMatch(/10\.1\.2\.3|5432|administrator/);
  });

  it('a code-less driver error counts only while the invalidation listener (one more connection) is down too', () => {
    const terminated = new Error('Connection terminated unexpectedly');
    expect(format({ message: 'x', path: ['a'] }, wrap(terminated)).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    const down = createFormatError(log, schema, () => true);
    expect(down({ message: 'x', path: ['a'] }, wrap(terminated)).extensions).toEqual(unavailable);
    // Our own answers are never taken for an outage.
    expect(down({ message: 'x', path: ['a'] }, wrap(new DomainError('NOT_FOUND', 'Gone.'))).extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('other errors stay INTERNAL_SERVER_ERROR (a unique violation is no outage)', () => {
    expect(isDatabaseUnreachable(queryFailed('23505'))).toBe(false);
    expect(format({ message: 'x', path: ['a'] }, wrap(queryFailed('23505'))).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });
});

describe('gateway config pull while PostgreSQL is unreachable', () => {
  it('answers 503 with Retry-After and no driver text', async () => {
    const app = Fastify({ loggerInstance: log as unknown as FastifyBaseLogger });
    registerGatewayConfigRoute(app, {
      services: {
        gatewayConfig: { pull: async () => Promise.reject(refused()) } as never,
        security: { authFailed: () => undefined } as never,
      },
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${url}/v1/gateway/config`, { headers: { authorization: 'Bearer kpg_x' } });
    const body = await res.text();
    await app.close();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(body)).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: 'The database is unreachable. Try again after retryAfter seconds.' },
    });
    expect(body + lines.join('')).not.toMatch(/10\.1\.2\.3|5432/);
  });
});

describe('log lines', () => {
  it('keep a socket error code but never the address it failed to reach', () => {
    log.warn({ err: refused() }, 'outbox relay failed; retrying');
    log.warn({ err: { name: 'Error', message: 'connect ETIMEDOUT 192.168.7.9:6379' } }, 'queue error');
    const out = lines.join('');
    expect(out).toContain('ECONNREFUSED [address]');
    expect(out).toContain('ETIMEDOUT [address]');
    expect(out).not.toMatch(/10\.1\.2\.3|192\.168\.7\.9|5432|6379/);
    expect(scrubAddresses('getaddrinfo ENOTFOUND db.internal.example')).toBe('getaddrinfo ENOTFOUND [address]');
  });
});
