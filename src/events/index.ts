import type { Logger } from 'pino';
import type { Config } from '../config';
import type { LiveEventBus } from './live-bus';
import { createPgEvents } from './pg-events';
import { createRedisEvents } from './redis-events';

export type { LiveEventBus, LiveEventSource } from './live-bus';

/** Live events on the queue backend's engine: Redis pub/sub, or PostgreSQL LISTEN/NOTIFY. */
export function createLiveEvents(config: Pick<Config, 'queue' | 'redisUrl' | 'databaseUrl'>, log?: Logger): LiveEventBus {
  return config.queue.backend === 'postgres'
    ? createPgEvents(config.databaseUrl, config.queue.prefix, log)
    : createRedisEvents(config.redisUrl!, config.queue.prefix, log);
}
