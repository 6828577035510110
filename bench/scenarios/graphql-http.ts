import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ADMIN_TOKEN, RESULTS_DIR } from '../harness/env';
import { gql, seedCredentials, tenantWithToken } from '../harness/db';
import { startHello, type Server } from '../harness/keyplane';
import { compare, graphqlLoad, httpSide } from '../harness/load';
import type { Figure } from '../harness/report';
import type { Ctx, Scenario } from './context';

const HELLO = '{ hello }';
const VIEWER = '{ viewer { role } }';
export const LIST = `query($t: ID!) {
  credentials(tenantId: $t, first: 50) {
    edges { cursor node { id label status redactedKey rotateBy provider { slug name } lastValidation { outcome checkedAt } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Against {
  id: string;
  title: string;
  token: string;
  query: string;
  variables?: Record<string, unknown>;
  target: number | null;
  /** The baseline's query and name; { hello } unless given. */
  baseline?: { title: string; query: string; variables?: Record<string, unknown> };
}

/** Compares one Keyplane query with an Apollo standalone baseline, run for run. */
export async function againstHello(ctx: Ctx, hello: Server, f: Against): Promise<Figure> {
  ctx.log(f.title);
  const c = ctx.o.connections;
  const base = f.baseline ?? { title: 'Apollo standalone { hello }', query: HELLO };
  const result = await compare(
    httpSide(graphqlLoad(`${ctx.api.url}/graphql`, f.token, f.query, f.variables ?? {}, c), ctx.api.child),
    httpSide(graphqlLoad(`${hello.url}/`, null, base.query, base.variables ?? {}, c), hello.child),
    { ...ctx.o, log: ctx.log },
  );
  return {
    id: f.id,
    title: f.title,
    status: 'measured',
    unit: 'req/s',
    subject: result.subject,
    baselineTitle: base.title,
    baseline: result.baseline,
    ratio: result.ratio,
    targets: f.target === null ? [] : [{ label: `>= ${f.target.toFixed(1)}x`, met: result.ratio >= f.target }],
  };
}

/**
 * A tenant with `count` validated credentials and an ADMIN token. The first page is checked (50
 * credentials with provider and last validation), so a broken query cannot pass as a fast one, and
 * written to a file for the same-shape baseline.
 */
export async function listTenant(ctx: Ctx, count: number): Promise<{ tenantId: string; token: string; pageFile: string }> {
  const t = await tenantWithToken(ctx.api.url, ctx.adminToken, 'list');
  await seedCredentials(ctx.pool, { tenantId: t.tenantId, provider: ctx.openai, count, tag: 'list', validated: true });
  const page = await gql(ctx.api.url, t.token, LIST, { t: t.tenantId });
  const edges = page.credentials.edges;
  if (edges.length !== 50 || !edges[0].node.provider?.slug || !edges[0].node.lastValidation?.outcome) {
    throw new Error('credentials list did not return 50 credentials with provider and last validation');
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const pageFile = resolve(RESULTS_DIR, 'credentials-page.json');
  writeFileSync(pageFile, JSON.stringify(page.credentials));
  return { ...t, pageFile };
}

/** The HTTP/GraphQL layer alone ({ viewer { role } }) and the credentials list, against { hello }. */
export const graphqlHttp: Scenario = {
  id: 'graphql',
  async run(ctx) {
    const list = await listTenant(ctx, 200);
    const viewer = await gql(ctx.api.url, list.token, VIEWER);
    if (viewer.viewer.role !== 'ADMIN') throw new Error('viewer query did not resolve the tenant token');
    const hello = await startHello(list.pageFile);
    const listArgs = { token: list.token, query: LIST, variables: { t: list.tenantId } };
    try {
      return [
        await againstHello(ctx, hello, {
          id: 'layer',
          title: 'GraphQL layer: { viewer { role } }, tenant token',
          token: list.token,
          query: VIEWER,
          target: 1.0,
        }),
        await againstHello(ctx, hello, {
          id: 'layer-admin',
          title: 'GraphQL layer, platform admin token (no token lookup; info)',
          token: ADMIN_TOKEN,
          query: VIEWER,
          target: null,
        }),
        await againstHello(ctx, hello, {
          id: 'list',
          title: 'credentials(tenantId, first: 50) with provider, last validation',
          ...listArgs,
          target: 0.5,
        }),
        await againstHello(ctx, hello, {
          id: 'list-same-shape',
          title: 'credentials list vs the same page served from memory (info)',
          ...listArgs,
          target: null,
          baseline: { title: 'Apollo standalone, same 50-item page from memory', query: LIST, variables: { t: list.tenantId } },
        }),
      ];
    } finally {
      await hello.child.stop();
    }
  },
};
