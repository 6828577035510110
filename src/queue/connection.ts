import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config, RedisClusterSettings } from '../config';

/** A connection to one Redis server or to a Redis Cluster: every Redis user takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL (one server) or a cluster's seed nodes (REDIS_CLUSTER_NODES). */
export type RedisTarget = { kind: 'single'; url: string } | ({ kind: 'cluster' } & RedisClusterSettings);

type RedisConfig = Pick<Config, 'redisUrl'> & Partial<Pick<Config, 'redisCluster'>>;

export function redisTargetOf(config: RedisConfig): RedisTarget {
  if (config.redisCluster) return { kind: 'cluster', ...config.redisCluster };
  if (!config.redisUrl) throw new Error('no Redis configured (QUEUE_BACKEND=postgres uses none)');
  return { kind: 'single', url: config.redisUrl };
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/**
 * One place turns a target into a client, so the API and the workers reach a cluster the same way.
 * `options` are per-node options (timeouts, offline queue, retries); `cluster` adds cluster-level
 * ones (sharded subscribers). On a cluster, the client's own offline queue follows the nodes'
 * (fail-fast users must fail fast before the slot map is known too), and MOVED/ASK/TRYAGAIN and
 * CLUSTERDOWN during a failover are retried by ioredis up to its redirection limit.
 */
export function connectRedis(target: RedisTarget, options: RedisOptions, cluster: Partial<ClusterOptions> = {}): RedisClient {
  if (target.kind === 'single') return new Redis(target.url, { reconnectOnError: reconnectOnReadOnly, ...options });
  const redisOptions: RedisOptions = {
    reconnectOnError: reconnectOnReadOnly,
    ...options,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  return new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      redisOptions,
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      // Reads from masters only: a replica may lag, and BullMQ and the limiter read what they wrote.
      scaleReads: 'master',
      slotsRefreshTimeout: 2_000,
      // Managed clusters with TLS announce names their certificates were issued for: connect by name.
      ...(target.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
      ...cluster,
    },
  );
}

/**
 * READONLY: the server this connection reached was demoted to a replica by a failover (a managed
 * Redis whose primary endpoint now names another node, or a cluster node before the slot map is
 * refreshed). Reconnect, which resolves the endpoint or the map again, and resend the command (2),
 * so the failover costs a retry instead of an error; how long a command may keep retrying is still
 * maxRetriesPerRequest's (forever for workers, once for the API's producers).
 */
export function reconnectOnReadOnly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/**
 * Workers block on Redis and must retry forever (maxRetriesPerRequest: null). Producers in the API
 * fail fast instead of queueing commands while Redis is down: the outbox keeps the work.
 * Never an ioredis keyPrefix with BullMQ: BullMQ's own `prefix` option is used instead.
 */
export function createRedis(target: string | RedisTarget, role: 'worker' | 'producer'): RedisClient {
  const resolved: RedisTarget = typeof target === 'string' ? { kind: 'single', url: target } : target;
  return connectRedis(
    resolved,
    {
      maxRetriesPerRequest: role === 'worker' ? null : 1,
      enableOfflineQueue: role === 'worker',
      connectionName: `keyplane-${role}`,
    },
    // On a cluster, BullMQ takes the client's 'connect' status for ready and sends INFO before the
    // slot map has arrived; a fail-fast client refuses it and the queue never initialises. So a
    // producer's commands wait in the cluster client's queue until the map is there (nodes still fail
    // fast). While the whole cluster is down they wait for it: the relay then holds its outbox rows
    // (other workers skip them) and nothing is lost; /readyz and scrapes have their own time bounds.
    resolved.kind === 'cluster' && role === 'producer' ? { enableOfflineQueue: true } : {},
  );
}

/** Readiness of a client: a cluster reports 'ready' once it has its slot map and node connections. */
export function isReady(redis: RedisClient): boolean {
  return redis.status === 'ready';
}
