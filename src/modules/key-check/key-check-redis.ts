import { connectRedis, type RedisClient, type RedisTarget } from '../../queue/connection';

/**
 * The API's connection for key-check limits and the key-test cache. It fails fast instead of
 * queueing while Redis is away (no offline queue, one retry, a short command timeout), because
 * the limiter then falls back to memory and the cache to a miss: a key check must never wait on
 * or fail because of Redis. No keyPrefix: keys carry config.queue.prefix themselves. On a cluster
 * the limiter's script keys share a hash tag (key-layout.ts keyCheckKeys).
 */
export function createKeyCheckRedis(target: string | RedisTarget): RedisClient {
  const redis = connectRedis(typeof target === 'string' ? { kind: 'single', url: target } : target, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectionName: 'keyplane-key-checks',
  });
  // Connection errors surface on the commands (and are logged by the limiter, once per outage).
  redis.on('error', () => undefined);
  return redis;
}
