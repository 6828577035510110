import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DIST, RESULTS_DIR } from '../harness/env';
import { gql, seedCredentials, tenantWithToken } from '../harness/db';
import { startScript } from '../harness/keyplane';
import { compare, httpSide, type HttpLoad } from '../harness/load';
import { freePort } from '../harness/proc';
import type { Figure } from '../harness/report';
import { notMeasurable, type Scenario } from './context';

const ROUTE_FILE = resolve(DIST, 'src', 'http', 'gateway-config.route.js');
const PATH = '/v1/gateway/config';
const TITLE_200 = 'Gateway config pull, 200 path (full config)';
const TITLE_304 = 'Gateway config pull, 304 Not Modified path';

/**
 * A gateway pulling its resolved keys with its own key, both when the config changed (200) and when
 * its cached ETag still matches (304), against plain node:http returning the same bytes.
 */
export const gatewayConfig: Scenario = {
  id: 'gateway-config',
  async run(ctx) {
    if (!existsSync(ROUTE_FILE)) {
      const why = 'not measurable yet: GET /v1/gateway/config is not built (src/http/gateway-config.route.ts missing)';
      return [notMeasurable('gateway-200', TITLE_200, why, []), notMeasurable('gateway-304', TITLE_304, why, ['>= 0.8x'])];
    }
    ctx.log('gateway config pull');
    const t = await tenantWithToken(ctx.api.url, ctx.adminToken, 'gateway');
    const creds = await seedCredentials(ctx.pool, { tenantId: t.tenantId, provider: ctx.openai, count: 3, tag: 'gw', validated: true });
    const gw = await gql(
      ctx.api.url,
      t.token,
      'mutation($i: CreateGatewayInput!) { createGateway(input: $i) { gatewayKey gateway { id } userErrors { code } } }',
      {
        i: { tenantId: t.tenantId, name: 'Bench edge', slug: 'bench-edge' },
      },
    );
    const gatewayId: string = gw.createGateway.gateway.id;
    const gatewayKey: string = gw.createGateway.gatewayKey;
    for (const c of creds) {
      await gql(ctx.api.url, t.token, 'mutation($i: AttachCredentialInput!) { attachCredential(input: $i) { userErrors { code } } }', {
        i: { gatewayId, credentialId: c.id },
      });
    }
    const url = `${ctx.api.url}${PATH}`;
    const auth = { authorization: `Bearer ${gatewayKey}` };
    const first = await fetch(url, { headers: auth });
    const body = Buffer.from(await first.arrayBuffer());
    const etag = first.headers.get('etag');
    if (first.status !== 200 || !etag) throw new Error(`config pull answered ${first.status}${etag ? '' : ' without an ETag'}`);
    const again = await fetch(url, { headers: { ...auth, 'if-none-match': etag } });
    await again.arrayBuffer();
    if (again.status !== 304) throw new Error(`config pull with a matching If-None-Match answered ${again.status}, not 304`);

    mkdirSync(RESULTS_DIR, { recursive: true });
    const bodyFile = resolve(RESULTS_DIR, 'gateway-config-body.bin');
    writeFileSync(bodyFile, body);
    const port = await freePort();
    const plain = await startScript('plain-http-server', 'baselines/plain-http-server.js', [
      String(port),
      bodyFile,
      etag,
      first.headers.get('content-type') ?? 'application/json',
    ]);
    try {
      const load = (base: string, headers: Record<string, string>, status: number): HttpLoad => ({
        url: `${base}${PATH}`,
        headers,
        ok: (s) => s === status,
        connections: ctx.o.connections,
      });
      const figures: Figure[] = [];
      for (const [id, title, headers, status, target] of [
        ['gateway-200', TITLE_200, auth, 200, null],
        ['gateway-304', TITLE_304, { ...auth, 'if-none-match': etag }, 304, 0.8],
      ] as const) {
        ctx.log(title);
        const r = await compare(
          httpSide(load(ctx.api.url, headers, status), ctx.api.child),
          httpSide(load(`http://127.0.0.1:${port}`, headers, status), plain.child),
          { ...ctx.o, log: ctx.log },
        );
        figures.push({
          id,
          title,
          status: 'measured',
          unit: 'req/s',
          subject: r.subject,
          baselineTitle: 'plain node:http, same bytes',
          baseline: r.baseline,
          ratio: r.ratio,
          targets: target === null ? [] : [{ label: `>= ${target}x`, met: r.ratio >= target }],
        });
      }
      return figures;
    } finally {
      await plain.child.stop();
      rmSync(bodyFile, { force: true }); // it holds (bench-made) plaintext keys: do not leave it lying around
    }
  },
};
