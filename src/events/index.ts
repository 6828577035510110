import type { Logger } from 'pino';
import type { Config } from '../config';
import type { LiveEventBus } from './live-bus';
import { createPgEvents } from './pg-events';
import { redisTargetOf } from '../queue/connection';
import { createRedisEvents } from './redis-events';

export type { LiveEventBus, LiveEventSource } from './live-bus';

/** Live events on the queue backend's engine: Redis pub/sub, or PostgreSQL LISTEN/NOTIFY. */
export function createLiveEvents(
  config: Pick<Config, 'queue' | 'redisUrl' | 'databaseUrl'> & Partial<Pick<Config, 'redisCluster'>>,
  log?: Logger,
): LiveEventBus {
  return config.queue.backend === 'postgres'
    ? createPgEvents(config.databaseUrl, config.queue.prefix, log)
    : createRedisEvents(redisTargetOf(config), config.queue.prefix, log);
}
