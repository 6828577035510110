import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCredential, createGateway, expectOk, openaiKey, tenantWithTokens, uniqueSlug } from '../factories';
import { attachCredential } from '../factories/credentials';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import type { TestApp } from '../helpers/test-app';
import { contractFetch } from '../helpers/contracts';
import { describeOnce } from '../helpers/queue-backend';
import { startCapture, waitFor, type Capture } from './e2e-support';

/*
 * Issue 11: the README's first command, `npm start`, on a machine with neither PostgreSQL nor
 * Redis. It runs in a network namespace of its own, where nothing listens on 127.0.0.1:5432 or
 * :6379 (checked first), with DATABASE_URL and REDIS_URL unset: it must start the embedded
 * PostgreSQL, BullMQ on it, the API and the worker, and carry one tenant, one key and one gateway
 * through them. The namespace reaches the test's fake provider and webhook receiver over a veth
 * pair. Needs root and iproute2 (as CI and the development machines have).
 */
const ROOT = resolve(__dirname, '../..');
const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
const octet = 100 + Math.floor(Math.random() * 150);
const ns = `kp-bare-${process.pid}`;
const [hostIp, nsIp] = [`10.213.${octet}.1`, `10.213.${octet}.2`];
const veth = `kpb${process.pid % 100000}`;
const PORT = 4000;

let dir: string;
let proc: ChildProcess | null = null;
const lines: string[] = [];
let fake: FakeProvider;
let hooks: Capture;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** Inside the namespace: does anything accept a TCP connection on this loopback port? */
function listening(port: number): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { encoding: 'utf8' }).status === 0;
}

// Skipped without root or iproute2 (it needs a network namespace), and in CI's postgres pass: it
// never uses the test queue backend (describeOnce).
(canNetns ? describeOnce : describe.skip)('npm start on a bare machine', () => {
  beforeAll(async () => {
    ip('netns', 'add', ns);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('link', 'add', `${veth}h`, 'type', 'veth', 'peer', 'name', `${veth}n`);
    ip('link', 'set', `${veth}n`, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', `${veth}h`);
    ip('link', 'set', `${veth}h`, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', `${veth}n`);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', `${veth}n`, 'up');
    [fake, hooks] = await Promise.all([startFakeProvider(hostIp), startCapture(hostIp)]);
    dir = mkdtempSync(join(tmpdir(), 'kp-bare-'));
    chmodSync(dir, 0o755); // the embedded server runs as the `postgres` user when we are root
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      process.kill(-proc.pid!, 'SIGKILL');
    }
    spawnSync('bash', ['-c', `pkill -KILL -f "${dir}/pg" || true`]);
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', `${veth}h`]);
    await Promise.all([fake?.close(), hooks?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API and workers on an embedded PostgreSQL, carries a tenant, a key and a gateway, and stops cleanly', async () => {
    expect({ postgres: listening(5432), redis: listening(6379) }).toEqual({ postgres: false, redis: false });

    const env: Record<string, string> = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      PORT: String(PORT),
      HOST: '0.0.0.0',
      KEYPLANE_EMBEDDED_PG_DIR: join(dir, 'pg'),
      KEYPLANE_LOCAL_SECRETS_FILE: join(dir, 'dev-secrets.json'),
      WORKER_METRICS_PORT: '0',
      // The fake provider and receiver are on the host's end of the veth pair, a private address.
      OUTBOUND_ALLOW: hostIp,
    };
    // detached: a process group of its own, signalled below as a terminal's Ctrl-C would be.
    proc = spawn('ip', ['netns', 'exec', ns, 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'npm', 'start'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [proc.stdout!, proc.stderr!]) stream.on('data', (c: Buffer) => lines.push(...c.toString('utf8').split('\n')));
    const said = () => lines.join('\n');
    await waitFor(
      'the API and the worker to start',
      () => {
        if (proc!.exitCode !== null) throw new Error(`npm start exited ${proc!.exitCode}:\n${said().slice(-3000)}`);
        return /keyplane API listening/.test(said()) && /keyplane worker started/.test(said());
      },
      240_000,
    );
    expect(said()).toContain(`database: embedded PostgreSQL (127.0.0.1:54329, data in ${join(dir, 'pg')})`);
    expect(said()).toMatch(/"queues":"postgres \(schema keyplane_queues\)"/);
    expect(listening(6379)).toBe(false); // still nothing there: no Redis was needed

    const api = `http://${nsIp}:${PORT}`;
    const admin = JSON.parse(readFileSync(join(dir, 'dev-secrets.json'), 'utf8')).KEYPLANE_ADMIN_TOKEN as string;
    const t = {
      async gql(query: string, variables: Record<string, unknown> = {}, token: string | null = admin) {
        const res = await fetch(`${api}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query, variables }),
        });
        const raw = await res.text();
        const body = JSON.parse(raw);
        return { status: res.status, data: body.data, errors: body.errors, raw };
      },
    } as unknown as TestApp;
    expect((await contractFetch(`${api}/readyz`)).body).toEqual({ status: 'ok', checks: { postgres: 'ok', queue: 'ok' } });

    const { tenant, admin: tenantAdmin } = await tenantWithTokens(t);
    const provider = await expectOk<any>(
      t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
        input: {
          slug: uniqueSlug('bare'),
          name: 'Bare fake',
          baseUrl: fake.baseUrl,
          authScheme: 'BEARER',
          apiShape: 'OPENAI',
          keyPrefixes: ['sk-proj-'],
          keyPattern: '^sk-',
        },
      }),
      'upsertProvider',
    );
    const secret = openaiKey();
    fake.allow(secret);
    const credential = await createCredential(t, tenantAdmin, { tenantId: tenant.id, providerId: provider.provider.id, secret });
    const gateway = await createGateway(t, tenantAdmin, tenant.id, { webhookUrl: hooks.url });
    await attachCredential(t, tenantAdmin, { gatewayId: gateway.gateway.id, credentialId: credential.id });

    // The worker validated the key against the provider (through BullMQ on PostgreSQL)...
    await waitFor(
      'the key to validate',
      async () => {
        const res = await t.gql('query($id: ID!) { credential(id: $id) { status } }', { id: credential.id }, tenantAdmin);
        return res.data?.credential?.status === 'ACTIVE';
      },
      30_000,
    );
    expect(fake.requests.filter((r) => r.headers.authorization === `Bearer ${secret}`)).toHaveLength(1);
    // ...told the gateway to reload, by signed webhook...
    await waitFor('the reload webhook', () => hooks.received.some((r) => r.body.includes(gateway.gateway.id)), 30_000);
    expect(hooks.received.find((r) => r.body.includes(gateway.gateway.id))!.headers['webhook-signature']).toMatch(/^v1,/);
    // ...and the gateway pulls its key.
    const pulled = await contractFetch(`${api}/v1/gateway/config`, { headers: { authorization: `Bearer ${gateway.gatewayKey}` } });
    expect(pulled.status).toBe(200);
    expect(pulled.text).toContain(secret);
    expect(hooks.contractViolations()).toEqual([]);

    // Ctrl-C: the API and worker drain, then the embedded PostgreSQL stops, and npm start exits.
    const exited = new Promise<void>((done) => proc!.once('exit', () => done()));
    process.kill(-proc.pid!, 'SIGINT');
    await exited;
    expect(said()).toContain('embedded-postgres: the API and workers have stopped: stopping PostgreSQL');
    expect(said()).not.toMatch(/"msg":"worker error"/);
    expect(spawnSync('bash', ['-c', `pgrep -f "${join(dir, 'pg')}"`]).status).not.toBe(0); // no server left running
  }, 300_000);
});
