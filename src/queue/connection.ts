import { Redis } from 'ioredis';

/**
 * Workers block on Redis and must retry forever (maxRetriesPerRequest: null). Producers in the API
 * fail fast instead of queueing commands while Redis is down: the outbox keeps the work.
 * Never an ioredis keyPrefix with BullMQ: BullMQ's own `prefix` option is used instead.
 */
export function createRedis(url: string, role: 'worker' | 'producer'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    connectionName: `keyplane-${role}`,
  });
}
