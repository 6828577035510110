import type { Logger } from 'pino';
import { connectRedis, isCluster, type RedisClient, type RedisTarget } from '../queue/connection';
import { liveChannel } from '../queue/key-layout';
import { createLiveBus, LIVE_EVENT_NAMES, throttledWarn, type LiveEventBus, type LiveTransport } from './live-bus';
import type { LiveEventName } from './types';

export type { LiveEventSource } from './live-bus';
/** @deprecated the bus is backend-neutral: use LiveEventBus. */
export type RedisEvents = LiveEventBus;

/**
 * Live events over Redis pub/sub. One channel per event name under the queue prefix, so test runs
 * and deployments sharing a Redis never see each other's events. On a Redis Cluster: sharded
 * pub/sub (SPUBLISH/SSUBSCRIBE) on channels of one hash tag (key-layout.ts liveChannel).
 */
export function createRedisEvents(target: string | RedisTarget, prefix: string, log?: Logger): LiveEventBus {
  return createLiveBus(redisTransport(typeof target === 'string' ? { kind: 'single', url: target } : target, prefix, log));
}

function redisTransport(target: RedisTarget, prefix: string, log?: Logger): LiveTransport {
  const sharded = target.kind === 'cluster';
  const channelOf = (event: LiveEventName) => liveChannel(prefix, event, sharded);
  const eventOf = new Map(LIVE_EVENT_NAMES.map((e) => [channelOf(e), e]));
  const publishError = throttledWarn(log, 'publisher', 'live events: Redis connection problem');
  const subscribeError = throttledWarn(log, 'subscriber', 'live events: Redis connection problem');
  let publisher: RedisClient | null = null;
  let subscriber: RedisClient | null = null;

  return {
    async send(event, message) {
      // The publisher connects on first use and fails fast while Redis is down: a live event is a
      // hint for open pages, never a reason to fail or stall the job that changed the data.
      if (!publisher) {
        publisher = connectRedis(target, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          commandTimeout: 1_000,
          connectionName: 'keyplane-live-publisher',
        });
        publisher.on('error', publishError);
      }
      try {
        if (isCluster(publisher)) await publisher.spublish(channelOf(event), message);
        else await publisher.publish(channelOf(event), message);
      } catch (error) {
        publishError(error as Error);
      }
    },
    listen(onMessage) {
      // Pub/sub needs a connection of its own; it retries forever and resubscribes after a reconnect.
      // On a cluster, ioredis keeps one sharded subscriber per master and moves the subscription to
      // the slot's new owner after a failover or resharding.
      subscriber = connectRedis(target, { maxRetriesPerRequest: null, connectionName: 'keyplane-live-subscriber' }, { shardedSubscribers: true });
      subscriber.on('error', subscribeError);
      const deliver = (channel: string, message: string) => {
        const event = eventOf.get(channel);
        if (event) onMessage(event, message);
      };
      if (sharded) {
        subscriber.ssubscribe(...LIVE_EVENT_NAMES.map(channelOf)).catch(subscribeError);
        subscriber.on('smessage', deliver);
      } else {
        subscriber.subscribe(...LIVE_EVENT_NAMES.map(channelOf)).catch(subscribeError);
        subscriber.on('message', deliver);
      }
    },
    async close() {
      const connections = [publisher, subscriber].filter((r): r is RedisClient => r !== null);
      publisher = subscriber = null;
      await Promise.all(
        connections.map((r) =>
          r.status === 'ready'
            ? r.quit().then(
                () => undefined,
                () => r.disconnect(),
              )
            : r.disconnect(),
        ),
      );
    },
  };
}
