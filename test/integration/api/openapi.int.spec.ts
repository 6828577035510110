import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractFetch, openApiDocument } from '../../helpers/contracts';
import { startTestApp, type TestApp } from '../../helpers/test-app';

/*
 * The REST contract against the running API: the served document is the committed one, every
 * route the API registers is documented (GraphQL and the HTML dashboard aside) and every documented
 * one is served, and each documented route's answers conform (more in the route suites, whose
 * helpers check every answer: gateway-feed.ts, audit-export, metrics).
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ KEYPLANE_OPS_READONLY_TOKEN: 'o'.repeat(40) });
});
afterAll(() => t.close());

/** Not REST: GraphQL has its SDL (schema/schema.graphql); the queue dashboard is an HTML page. */
const UNDOCUMENTED = [/^\/graphql$/, /^\/admin\/queues(\/|$)/];

/** Every route fastify serves, as "METHOD /path", from its route tree (HEAD mirrors GET). */
function registeredRoutes(): string[] {
  const routes: string[] = [];
  const parents: string[] = [];
  for (const line of t.app.server.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    const path = (parents[depth - 1] ?? '') + match[2];
    parents[depth] = path;
    parents.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD')) routes.push(`${method} ${path}`);
  }
  return routes;
}

const documented = () =>
  Object.entries<Record<string, unknown>>(openApiDocument.paths).flatMap(([path, item]) =>
    Object.keys(item).map((verb) => `${verb.toUpperCase()} ${path}`),
  );

it('serves /openapi.json: the committed schema/openapi.json, byte for byte, and it conforms to itself', async () => {
  const res = await contractFetch(`${t.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.text).toBe(readFileSync(join(__dirname, '../../../schema/openapi.json'), 'utf8'));
  expect(res.body.openapi).toMatch(/^3\.1\./);
});

it('documents every route the API registers, and serves every documented one', () => {
  const registered = registeredRoutes();
  expect(registered).toEqual(expect.arrayContaining(['GET /healthz', 'POST /graphql'])); // the parse found the tree
  const rest = registered.filter((r) => !UNDOCUMENTED.some((p) => p.test(r.split(' ')[1])));
  expect(rest.sort()).toEqual(documented().sort());
});

it('each secured route refuses an anonymous caller as documented; each open one answers as documented', async () => {
  for (const [path, item] of Object.entries<any>(openApiDocument.paths)) {
    const secured = (item.get.security ?? openApiDocument.security ?? []).length > 0;
    const res = await contractFetch(`${t.url}${path}`); // throws on any difference from the document
    expect({ path, status: res.status }).toEqual({ path, status: secured ? 401 : 200 });
  }
});

it('HEAD on the gateway config answers as GET does, without a body', async () => {
  const res = await contractFetch(`${t.url}/v1/gateway/config`, { method: 'HEAD', headers: { authorization: `Bearer kpg_${'x'.repeat(43)}` } });
  expect(res.status).toBe(401);
  expect(res.text).toBe('');
});
