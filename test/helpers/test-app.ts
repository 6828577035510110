import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { TEST_ENV } from './test-env';
import { prepareQueueNamespace } from './queue-backend';
import { checkDeclaredCodes } from './declared-error-codes';

export const ADMIN_TOKEN = TEST_ENV.KEYPLANE_ADMIN_TOKEN;

export interface GqlResult<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
  raw: string;
}

export interface TestApp {
  app: App;
  url: string;
  /** Every log line the app wrote, for leak scans. */
  logs: string[];
  /** Every raw response body, for leak scans. */
  responses: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

/** Starts the real API (fastify + Apollo + PostgreSQL) on a loopback port. */
export async function startTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const logs: string[] = [];
  const responses: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const config = loadConfig({ ...process.env, ...TEST_ENV, ...env, PORT: '0', HOST: '127.0.0.1' });
  // The API checks the queue schema at start and never migrates it: the harness runs the
  // migration step for this run's prefix, as `npm run migrate` does for a deployment.
  if (config.queue.backend === 'postgres') await prepareQueueNamespace(config.queue.prefix, config.databaseUrl);
  const app = await createApp(config, createLogger('debug', sink));
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
  return {
    app,
    url,
    logs,
    responses,
    async gql(query, variables = {}, token = ADMIN_TOKEN) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const raw = await res.text();
      responses.push(raw);
      const body = JSON.parse(raw);
      checkDeclaredCodes(query, body.data);
      return { status: res.status, data: body.data, errors: body.errors, raw };
    },
    close: () => app.close(),
  };
}
