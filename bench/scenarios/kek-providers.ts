import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchKey, gql, seedCredentials, tenantWithToken } from '../harness/db';
import { ROOT } from '../harness/env';
import { startApi, type Server } from '../harness/keyplane';
import { compare, graphqlLoad, httpSide } from '../harness/load';
import type { Figure } from '../harness/report';
import { notMeasurable, type Scenario } from './context';

const MODULES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib64/pkcs11/libsofthsm2.so'];
const CREATE = `mutation($input: CreateCredentialInput!) {
  createCredential(input: $input) { credential { id } userErrors { code } }
}`;
const HSM_VERSION = '2';
const TITLE_CREATE = 'createCredential, KEK in SoftHSM2 (pkcs11) vs local';
const TITLE_PULL = 'Gateway config pull 200 (3 keys), KEK in SoftHSM2 (pkcs11) vs local';

/**
 * The same operations on two APIs in the same run: one with the KEK in this process (local, the
 * usual API of the run) and one with it in a SoftHSM2 token (KEYPLANE_KEK_PROVIDER=pkcs11). Ratio:
 * pkcs11 / local. Its tenants (and every record sealed under the HSM version) are deleted at the end,
 * so later scenarios start processes against a database the local keyring still covers.
 */
export const kekProviders: Scenario = {
  id: 'kek-providers',
  async run(ctx) {
    const modulePath = MODULES.find((m) => existsSync(m));
    if (!modulePath) {
      const why = 'not measurable: SoftHSM2 is not installed (apt-get install softhsm2)';
      return [notMeasurable('kek-create', TITLE_CREATE, why, []), notMeasurable('kek-pull', TITLE_PULL, why, [])];
    }
    const dir = mkdtempSync(join(tmpdir(), 'keyplane-bench-hsm-'));
    mkdirSync(join(dir, 'tokens'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const pin = `bench-${Date.now()}`;
    const hsmEnv = {
      SOFTHSM2_CONF: conf,
      KEYPLANE_KEK_PROVIDER: 'pkcs11',
      KEYPLANE_PKCS11_MODULE: modulePath,
      KEYPLANE_PKCS11_TOKEN_LABEL: 'keyplane-bench',
      KEYPLANE_PKCS11_PIN: pin,
      KEYPLANE_PKCS11_KEY_VERSIONS: HSM_VERSION,
    };
    const tenants: string[] = [];
    let hsmApi: Server | null = null;
    try {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'keyplane-bench', '--pin', pin, '--so-pin', `so-${pin}`], {
        env: { ...process.env, SOFTHSM2_CONF: conf },
        stdio: 'ignore',
      });
      execFileSync(process.execPath, [resolve(ROOT, 'scripts', 'pkcs11-create-kek.js'), '--label', `keyplane-kek-${HSM_VERSION}`], {
        env: { ...process.env, ...hsmEnv },
        stdio: 'ignore',
      });
      ctx.log('KEK providers: starting an API with KEYPLANE_KEK_PROVIDER=pkcs11 (SoftHSM2)');
      hsmApi = await startApi('api-pkcs11', { env: hsmEnv });
      const figures: Figure[] = [];

      // createCredential: one wrap per request, in the HSM vs in process.
      const local = await tenantWithToken(ctx.api.url, ctx.adminToken, 'kek-local');
      const hsm = await tenantWithToken(hsmApi.url, ctx.adminToken, 'kek-hsm');
      tenants.push(local.tenantId, hsm.tenantId);
      let n = 0;
      const input = (tenantId: string, tag: string) => () => ({
        input: { tenantId, providerId: ctx.openai.id, label: `k-${tag}-${n}`, secret: benchKey(tag, n++) },
      });
      const created = (b: string) => b.includes('"userErrors":[]');
      ctx.log(TITLE_CREATE);
      const c = await compare(
        httpSide(graphqlLoad(`${hsmApi.url}/graphql`, hsm.token, CREATE, input(hsm.tenantId, 'h'), ctx.o.connections, created), hsmApi.child),
        httpSide(graphqlLoad(`${ctx.api.url}/graphql`, local.token, CREATE, input(local.tenantId, 'l'), ctx.o.connections, created), ctx.api.child),
        { ...ctx.o, log: ctx.log },
      );
      figures.push({
        id: 'kek-create',
        title: TITLE_CREATE,
        status: 'measured',
        unit: 'req/s',
        subject: c.subject,
        baselineTitle: 'same API build, KEK local',
        baseline: c.baseline,
        ratio: c.ratio,
        targets: [],
      });

      // Gateway config pull (200): three unwraps per request, run concurrently on the session pool.
      const pullFor = async (api: Server, t: { tenantId: string; token: string }, sealedByApi: boolean) => {
        let ids: string[];
        if (sealedByApi) {
          ids = [];
          for (let i = 0; i < 3; i++) {
            const r = await gql(api.url, t.token, CREATE, {
              input: { tenantId: t.tenantId, providerId: ctx.openai.id, label: `gw-${i}`, secret: benchKey('gwh', i) },
            });
            ids.push(r.createCredential.credential.id);
          }
          await ctx.pool.query(`UPDATE credentials SET status = 'ACTIVE', current_version = 1 WHERE tenant_id = $1`, [t.tenantId]);
          await ctx.pool.query(`UPDATE credential_versions SET state = 'ACTIVE' WHERE tenant_id = $1`, [t.tenantId]);
        } else {
          ids = (await seedCredentials(ctx.pool, { tenantId: t.tenantId, provider: ctx.openai, count: 3, tag: 'gwl', validated: true })).map(
            (x) => x.id,
          );
        }
        const gw = await gql(api.url, t.token, 'mutation($i: CreateGatewayInput!) { createGateway(input: $i) { gatewayKey gateway { id } } }', {
          i: { tenantId: t.tenantId, name: 'Bench edge', slug: `kek-${sealedByApi ? 'h' : 'l'}` },
        });
        for (const id of ids) {
          await gql(api.url, t.token, 'mutation($i: AttachCredentialInput!) { attachCredential(input: $i) { userErrors { code } } }', {
            i: { gatewayId: gw.createGateway.gateway.id, credentialId: id },
          });
        }
        const headers = { authorization: `Bearer ${gw.createGateway.gatewayKey}` };
        const first = await fetch(`${api.url}/v1/gateway/config`, { headers });
        const body = await first.text();
        if (first.status !== 200 || (body.match(/"key":/g) ?? []).length !== 3)
          throw new Error(`config pull answered ${first.status} without 3 keys`);
        return { url: `${api.url}/v1/gateway/config`, headers, ok: (s: number) => s === 200, connections: ctx.o.connections };
      };
      const hsmPull = await pullFor(hsmApi, hsm, true);
      const localPull = await pullFor(ctx.api, local, false);
      ctx.log(TITLE_PULL);
      const p = await compare(httpSide(hsmPull, hsmApi.child), httpSide(localPull, ctx.api.child), { ...ctx.o, log: ctx.log });
      figures.push({
        id: 'kek-pull',
        title: TITLE_PULL,
        status: 'measured',
        unit: 'req/s',
        subject: p.subject,
        baselineTitle: 'same API build, KEK local',
        baseline: p.baseline,
        ratio: p.ratio,
        targets: [],
      });
      return figures;
    } finally {
      await hsmApi?.child.stop();
      for (const id of tenants) await ctx.pool.query('DELETE FROM tenants WHERE id = $1', [id]).catch(() => undefined);
      await ctx.pool.query('DELETE FROM kek_check_values WHERE key_version = $1', [Number(HSM_VERSION)]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
