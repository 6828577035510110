import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A Redis Cluster of the test's own: 3 masters and 3 replicas on free loopback ports, in a temp
 * folder, never touching the shared Redis. Daemonized redis-servers with pid files, so a test can
 * SIGKILL one node (by its pid, which this helper started) or fail one over, and everything started
 * here is stopped by stop(). A short node timeout makes failovers take seconds, not the default 15.
 */
export interface PrivateRedisCluster {
  ports: number[];
  /** REDIS_CLUSTER_NODES for these nodes (or some of them, in the order given). */
  seeds(ports?: number[]): string;
  /** CLUSTER NODES as seen by a live node: masters with their replicas. */
  topology(): Promise<{ port: number; role: 'master' | 'replica'; masterPort: number | null; failed: boolean }[]>;
  /** The master port serving a key's slot. */
  masterOf(key: string): Promise<number>;
  kill(port: number, signal?: NodeJS.Signals): void;
  /** Starts a killed node again (it rejoins from its nodes.conf, as a replica of its successor). */
  restart(port: number): Promise<void>;
  /** CLUSTER FAILOVER on a replica: it and its master swap roles without losing writes. */
  failover(replicaPort: number): Promise<void>;
  /** Until every live node says cluster_state:ok. */
  waitOk(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const NODE_TIMEOUT_MS = 2_000;

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Six ports whose cluster bus ports (port + 10000) are free too. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

const started = new Map<number, number>(); // port -> pid

function readPid(dir: string, port: number): number | null {
  const file = join(dir, `redis-${port}.pid`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`private redis cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function command(port: number, ...args: string[]): Promise<string> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return String(await redis.call(args[0], ...args.slice(1)));
  } finally {
    redis.disconnect();
  }
}

export async function startPrivateRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'keyplane-redis-cluster-'));
  const ports = await clusterPorts(6);

  const startNode = async (port: number) => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
      '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
      '--pidfile', join(dir, `redis-${port}.pid`), '--logfile', join(dir, `redis-${port}.log`),
    ]; // prettier-ignore
    const run = spawnSync('redis-server', args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`redis-server ${port} did not start: ${run.stderr}`);
    await until(`node ${port}`, async () => (await command(port, 'PING')) === 'PONG', 5_000);
    const pid = readPid(dir, port);
    if (pid) started.set(port, pid);
  };

  const live = () => ports.filter((p) => started.has(p) && alive(started.get(p)!));

  const waitOk = async (timeoutMs = 30_000) => {
    await until(
      'cluster_state:ok on every live node',
      async () => {
        const infos = await Promise.all(live().map((p) => command(p, 'CLUSTER', 'INFO')));
        return infos.length > 0 && infos.every((i) => /cluster_state:ok/.test(i));
      },
      timeoutMs,
    );
  };

  const topology = async () => {
    const raw = await command(live()[0], 'CLUSTER', 'NODES');
    const lines = raw
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const portOf = new Map(lines.map((f) => [f[0], Number(/:(\d+)@/.exec(f[1])![1])]));
    return lines.map((f) => ({
      port: portOf.get(f[0])!,
      role: (f[2].includes('master') ? 'master' : 'replica') as 'master' | 'replica',
      masterPort: f[3] === '-' ? null : (portOf.get(f[3]) ?? null),
      failed: /fail/.test(f[2]),
    }));
  };

  const stop = async () => {
    for (const port of ports) {
      const pid = started.get(port);
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      started.delete(port);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const port of ports) await startNode(port);
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitOk();
    // Replicas must have synced before a test fails one over or kills its master.
    await until(
      'replicas in sync',
      async () => {
        const nodes = await topology();
        const replicas = nodes.filter((n) => n.role === 'replica');
        if (replicas.length !== 3) return false;
        const infos = await Promise.all(replicas.map((r) => command(r.port, 'INFO', 'replication')));
        return infos.every((i) => /master_link_status:up/.test(i));
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    ports,
    seeds: (some = ports) => some.map((p) => `127.0.0.1:${p}`).join(','),
    topology,
    async masterOf(key) {
      const slot = Number(await command(live()[0], 'CLUSTER', 'KEYSLOT', key));
      const shards = await slotsOf(live()[0]);
      const hit = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!hit) throw new Error(`slot ${slot} has no master`);
      return hit[2];
    },
    kill(port, signal = 'SIGKILL') {
      const pid = started.get(port);
      if (!pid) throw new Error(`node ${port} was not started here`);
      process.kill(pid, signal);
    },
    async restart(port) {
      await until(`node ${port} to exit`, async () => !alive(started.get(port)!), 5_000);
      started.delete(port);
      await startNode(port);
    },
    async failover(replicaPort) {
      const reply = await command(replicaPort, 'CLUSTER', 'FAILOVER');
      if (reply !== 'OK') throw new Error(`CLUSTER FAILOVER on ${replicaPort}: ${reply}`);
      await until(`${replicaPort} to become a master`, async () => /role:master/.test(await command(replicaPort, 'INFO', 'replication')), 15_000);
    },
    waitOk,
    stop,
  };
}

async function slotsOf(port: number): Promise<[number, number, number][]> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const slots = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    return slots.map(([from, to, master]) => [from, to, Number(master[1])]);
  } finally {
    redis.disconnect();
  }
}

// Last resort if jest itself is interrupted: never leave a node of ours behind.
process.once('exit', () => {
  for (const pid of started.values()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
