import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createLiveBus, LIVE_EVENT_NAMES, throttledWarn, type LiveEventBus, type LiveTransport } from './live-bus';
import type { LiveEventName } from './types';

export type { LiveEventSource } from './live-bus';
/** @deprecated the bus is backend-neutral: use LiveEventBus. */
export type RedisEvents = LiveEventBus;

/**
 * Live events over Redis pub/sub. One channel per event name under the queue prefix, so test runs
 * and deployments sharing a Redis never see each other's events.
 */
export function createRedisEvents(url: string, prefix: string, log?: Logger): LiveEventBus {
  return createLiveBus(redisTransport(url, prefix, log));
}

function redisTransport(url: string, prefix: string, log?: Logger): LiveTransport {
  const channelOf = (event: LiveEventName) => `${prefix}:live:${event}`;
  const eventOf = new Map(LIVE_EVENT_NAMES.map((e) => [channelOf(e), e]));
  const publishError = throttledWarn(log, 'publisher', 'live events: Redis connection problem');
  const subscribeError = throttledWarn(log, 'subscriber', 'live events: Redis connection problem');
  let publisher: Redis | null = null;
  let subscriber: Redis | null = null;

  return {
    async send(event, message) {
      // The publisher connects on first use and fails fast while Redis is down: a live event is a
      // hint for open pages, never a reason to fail or stall the job that changed the data.
      if (!publisher) {
        publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 1_000, connectionName: 'keyplane-live-publisher' });
        publisher.on('error', publishError);
      }
      try {
        await publisher.publish(channelOf(event), message);
      } catch (error) {
        publishError(error as Error);
      }
    },
    listen(onMessage) {
      // Pub/sub needs a connection of its own; it retries forever and resubscribes after a reconnect.
      subscriber = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'keyplane-live-subscriber' });
      subscriber.on('error', subscribeError);
      subscriber.subscribe(...LIVE_EVENT_NAMES.map(channelOf)).catch(subscribeError);
      subscriber.on('message', (channel: string, message: string) => {
        const event = eventOf.get(channel);
        if (event) onMessage(event, message);
      });
    },
    async close() {
      const connections = [publisher, subscriber].filter((r): r is Redis => r !== null);
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
