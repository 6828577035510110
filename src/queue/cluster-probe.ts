import { Redis } from 'ioredis';
import type { RedisTarget } from './connection';

type ClusterTarget = Extract<RedisTarget, { kind: 'cluster' }>;

/** What one seed node said; `error` names a cause, never a credential. */
export interface NodeReport {
  node: string;
  reachable: boolean;
  /** INFO cluster: false when the node runs without cluster mode (a wrong node list). */
  clusterEnabled?: boolean;
  /** CLUSTER INFO cluster_state: ok, or fail (slots uncovered, a majority of masters unreachable). */
  state?: string;
  slotsOk?: number;
  /** NOAUTH / WRONGPASS: the credentials, not the network. */
  authRefused?: boolean;
  error?: string;
}

/**
 * Asks each seed node of REDIS_CLUSTER_NODES directly (one short connection each, no retries) what
 * it is, so a start on a wrong node list or a failed cluster says so in words instead of the
 * cluster client's "Failed to refresh slots cache" retried forever.
 */
export async function probeClusterNodes(target: ClusterTarget, timeoutMs = 2_000): Promise<NodeReport[]> {
  return Promise.all(target.nodes.map((node) => probe(target, node, timeoutMs)));
}

async function probe(target: ClusterTarget, { host, port }: { host: string; port: number }, timeoutMs: number): Promise<NodeReport> {
  const node = `${host}:${port}`;
  const redis = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: 'keyplane-cluster-probe',
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: { servername: host } } : {}),
  });
  // The socket's own error (ECONNREFUSED, ENOTFOUND...) comes as an event; connect() rejects vaguer.
  let socketError: (Error & { code?: string }) | null = null;
  redis.on('error', (error: Error & { code?: string }) => (socketError ??= error));
  try {
    await redis.connect();
  } catch (error) {
    const e = (socketError ?? error) as Error & { code?: string };
    const authRefused = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(e.message);
    redis.disconnect();
    return authRefused ? { node, reachable: true, authRefused } : { node, reachable: false, error: e.code ?? e.name };
  }
  try {
    const info = await redis.info('cluster');
    const clusterEnabled = /cluster_enabled:1/.test(info);
    if (!clusterEnabled) return { node, reachable: true, clusterEnabled };
    const cluster = String(await redis.call('CLUSTER', 'INFO'));
    const state = /cluster_state:(\w+)/.exec(cluster)?.[1] ?? 'unknown';
    const slotsOk = Number(/cluster_slots_ok:(\d+)/.exec(cluster)?.[1] ?? 0);
    return { node, reachable: true, clusterEnabled, state, slotsOk };
  } catch (error) {
    const e = error as Error;
    if (/NOAUTH|WRONGPASS|NOPERM/i.test(e.message)) return { node, reachable: true, authRefused: true };
    return { node, reachable: true, error: e.name };
  } finally {
    redis.disconnect();
  }
}

/** A start-up verdict: `fatal` will not fix itself (wrong list, credentials); `warning` may. */
export function judgeCluster(reports: NodeReport[]): { fatal?: string; warning?: string } {
  const list = (rs: NodeReport[]) => rs.map((r) => r.node).join(', ');
  const notCluster = reports.filter((r) => r.clusterEnabled === false);
  if (notCluster.length) {
    return {
      fatal: `REDIS_CLUSTER_NODES names ${list(notCluster)}, which ${notCluster.length > 1 ? 'run' : 'runs'} without cluster mode (cluster_enabled:0): list the nodes of a Redis Cluster, or set REDIS_URL for one Redis server`,
    };
  }
  const refused = reports.filter((r) => r.authRefused);
  if (refused.length) return { fatal: `Redis Cluster node ${list(refused)} refused the credentials: check REDIS_USERNAME and REDIS_PASSWORD` };
  const reachable = reports.filter((r) => r.reachable);
  if (!reachable.length) {
    return {
      warning: `none of the REDIS_CLUSTER_NODES answers (${reports.map((r) => `${r.node}: ${r.error}`).join(', ')}): queues wait for the cluster and /readyz fails until one does; check the node list`,
    };
  }
  const failed = reachable.filter((r) => r.state && r.state !== 'ok');
  if (failed.length === reachable.length) {
    return {
      warning: `Redis Cluster state is "${failed[0].state}" (${failed[0].slotsOk ?? 0} of 16384 slots served, per ${failed[0].node}): queues wait and /readyz fails until every slot has a master again`,
    };
  }
  return {};
}
