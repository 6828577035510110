import { Redis } from 'ioredis';

/**
 * The API's connection for key-check limits and the key-test cache. It fails fast instead of
 * queueing while Redis is away (no offline queue, one retry, a short command timeout), because
 * the limiter then falls back to memory and the cache to a miss: a key check must never wait on
 * or fail because of Redis. No keyPrefix: keys carry config.queue.prefix themselves.
 */
export function createKeyCheckRedis(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectionName: 'keyplane-key-checks',
  });
  // Connection errors surface on the commands (and are logged by the limiter, once per outage).
  redis.on('error', () => undefined);
  return redis;
}
