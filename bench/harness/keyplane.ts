import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Queue } from 'bullmq';
import type { QueueBackendKind, RedisClusterSettings } from '../../src/config';
import { queueSchemaOf } from '../../src/config-values';
import { migrateQueueSchema } from '../../src/db/migrate';
import { createQueueBackend } from '../../src/queue/backend';
import { createQueues } from '../../src/queue/queues';
import { BENCH_DATABASE_URL, DIST, keyplaneEnv, REDIS_URL, RESULTS_DIR } from './env';
import { firstMessage, freePort, sleep, spawnNode, waitForHttp, type Child } from './proc';

export interface Server {
  child: Child;
  url: string;
}

/** With --profile, every API and worker process writes a V8 CPU profile when it stops. */
export const profiling = { on: false };

function profileArgs(name: string): string[] {
  if (!profiling.on) return [];
  const dir = resolve(RESULTS_DIR, 'profiles');
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`];
}

/** The built API (dist/src/main.js) in its own process, as it runs in production. */
export async function startApi(name: string, o: { env?: Record<string, string> } = {}): Promise<Server> {
  const port = await freePort();
  const child = spawnNode(name, resolve(DIST, 'src', 'main.js'), {
    env: keyplaneEnv({ PORT: String(port), ...o.env }),
    nodeArgs: profileArgs(name),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child);
  return { child, url };
}

/**
 * The built worker (dist/workers/main.js): outbox relay plus processors, under `prefix`, on the
 * queue backend `env.QUEUE_BACKEND` names (Redis unless it says postgres).
 */
export async function startWorker(name: string, prefix: string, env: Record<string, string> = {}): Promise<Child> {
  const backend: QueueBackendKind = env.QUEUE_BACKEND === 'postgres' ? 'postgres' : 'redis';
  // On PostgreSQL the prefix's BullMQ schema comes from the migration step, as in a deployment.
  if (backend === 'postgres') await migrateQueueSchema(BENCH_DATABASE_URL, queueSchemaOf(prefix));
  const full = keyplaneEnv({ QUEUE_PREFIX: prefix, ...env });
  // A cluster replaces REDIS_URL (the config refuses both).
  if (full.REDIS_CLUSTER_NODES) delete full.REDIS_URL;
  const child = spawnNode(name, resolve(DIST, 'workers', 'main.js'), { env: full, nodeArgs: profileArgs(name) });
  await waitForWorkers(child, prefix, backend, full.REDIS_CLUSTER_NODES ? clusterSettings(full.REDIS_CLUSTER_NODES) : null);
  return child;
}

/** REDIS_CLUSTER_NODES (host:port,...) as the config parses it, for the harness's own producers. */
export function clusterSettings(seeds: string): RedisClusterSettings {
  const nodes = seeds.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
  });
  return { nodes, username: null, password: null, tls: false };
}

/** A baseline or helper script from dist/bench that reports `{ ready: true }` over IPC. */
export async function startScript<M extends { ready?: boolean }>(name: string, script: string, args: string[]): Promise<{ child: Child; ready: M }> {
  const child = spawnNode(name, resolve(DIST, 'bench', script), { args, env: { PATH: process.env.PATH ?? '' }, ipc: true });
  const ready = await firstMessage<M>(child);
  return { child, ready };
}

/** Apollo standalone { hello }; with `pageFile`, it also serves that captured credentials page from memory. */
export async function startHello(pageFile?: string): Promise<Server> {
  const port = await freePort();
  const { child } = await startScript('hello-server', 'baselines/hello-server.js', [String(port), ...(pageFile ? [pageFile] : [])]);
  return { child, url: `http://127.0.0.1:${port}` };
}

/** BullMQ queues under a prefix of this run, on a producer connection of the given backend. */
export function benchQueues(
  prefix: string,
  backend: QueueBackendKind = 'redis',
  cluster: RedisClusterSettings | null = null,
): { queues: Record<string, Queue>; close(obliterate?: boolean): Promise<void> } {
  const b = createQueueBackend({
    queue: { backend, prefix },
    redisUrl: cluster ? null : REDIS_URL,
    redisCluster: cluster,
    databaseUrl: BENCH_DATABASE_URL,
  });
  const queues = createQueues(b);
  return {
    queues,
    async close(obliterate = true) {
      for (const q of Object.values(queues)) {
        if (obliterate) await q.obliterate({ force: true }).catch(() => undefined);
        await q.close();
      }
      await b.close();
    },
  };
}

/** Waits until the worker process has registered at least one BullMQ worker under `prefix`. */
async function waitForWorkers(
  child: Child,
  prefix: string,
  backend: QueueBackendKind,
  cluster: RedisClusterSettings | null,
  timeoutMs = 30_000,
): Promise<void> {
  const q = benchQueues(prefix, backend, cluster);
  try {
    const until = Date.now() + timeoutMs;
    for (;;) {
      child.assertAlive();
      const counts = await Promise.all(Object.values(q.queues).map((queue) => queue.getWorkersCount()));
      if (counts.some((n) => n > 0)) return;
      if (Date.now() > until) throw new Error(`${child.name} registered no BullMQ worker in time\n${child.tail()}`);
      await sleep(100);
    }
  } finally {
    await q.close(false);
  }
}
