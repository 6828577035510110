import { resolve } from 'node:path';
import { BENCH_DATABASE_URL, DIST, REDIS_URL, RUN_PREFIX } from '../harness/env';
import { benchKey, tenantWithToken } from '../harness/db';
import { benchQueues } from '../harness/keyplane';
import { compare, graphqlLoad, httpSide, type Side } from '../harness/load';
import { firstMessage, spawnNode } from '../harness/proc';
import type { RunResult } from '../harness/stats';
import type { Scenario } from './context';

const CREATE = `mutation($input: CreateCredentialInput!) {
  createCredential(input: $input) { credential { id status redactedKey } userErrors { code } }
}`;
const P99_LIMIT_MS = 25;
const API_POOL_SIZE = 10; // the API's default DATABASE_POOL_SIZE: the baseline gets the same

/**
 * createCredential over HTTP at 32 connections, each request a new label and key, against a raw
 * loop doing the same crypto, one INSERT and one BullMQ add per key.
 */
export const createCredential: Scenario = {
  id: 'create',
  async run(ctx) {
    ctx.log('createCredential over HTTP GraphQL');
    const t = await tenantWithToken(ctx.api.url, ctx.adminToken, 'create');
    await ctx.pool.query(`CREATE TABLE IF NOT EXISTS bench_raw_credentials (
      id uuid PRIMARY KEY, tenant_id uuid NOT NULL, kek_version int NOT NULL, wrapped_key bytea NOT NULL,
      ciphertext bytea NOT NULL, fingerprint bytea NOT NULL, redacted_key text NOT NULL)`);
    const rawPrefix = `${RUN_PREFIX}-raw`;
    let n = 0;
    const input = () => ({
      input: { tenantId: t.tenantId, providerId: ctx.openai.id, label: `c-${n}`, secret: benchKey('api', n++) },
    });
    const subject = httpSide(
      graphqlLoad(`${ctx.api.url}/graphql`, t.token, CREATE, input, ctx.o.connections, (b) => b.includes('"userErrors":[]')),
      ctx.api.child,
    );
    let rawRun = 0;
    const baseline: Side = {
      async run(seconds) {
        const tag = `raw${rawRun++}x`;
        const args = [
          BENCH_DATABASE_URL,
          REDIS_URL,
          rawPrefix,
          t.tenantId,
          '1',
          String(seconds),
          String(ctx.o.connections),
          String(API_POOL_SIZE),
          tag,
        ];
        const child = spawnNode('raw-create-loop', resolve(DIST, 'bench', 'baselines', 'raw-create-loop.js'), {
          args,
          env: { PATH: process.env.PATH ?? '' },
          ipc: true,
          oneShot: true,
        });
        const result = await firstMessage<RunResult>(child, (seconds + 30) * 1000);
        await child.exited;
        child.assertAlive();
        return result;
      },
    };
    try {
      const result = await compare(subject, baseline, { ...ctx.o, log: ctx.log });
      // Every success the load generator counted must be a stored credential, and nothing more.
      const { rows } = await ctx.pool.query('SELECT count(*)::int AS n FROM credentials WHERE tenant_id = $1', [t.tenantId]);
      const counted = result.subject.runs.reduce((s, r) => s + r.ok, 0);
      if (rows[0].n < counted) throw new Error(`load generator counted ${counted} creates, database holds ${rows[0].n}`);
      return [
        {
          id: 'create',
          title: `createCredential over HTTP GraphQL, ${ctx.o.connections} connections`,
          status: 'measured',
          unit: 'req/s',
          subject: result.subject,
          baselineTitle: 'raw loop: crypto + INSERT + BullMQ add',
          baseline: result.baseline,
          ratio: result.ratio,
          targets: [
            { label: '>= 0.5x', met: result.ratio >= 0.5 },
            { label: `p99 <= ${P99_LIMIT_MS} ms`, met: result.subject.p99 <= P99_LIMIT_MS },
          ],
        },
      ];
    } finally {
      await benchQueues(rawPrefix).close();
    }
  },
};
