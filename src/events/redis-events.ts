import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { EventStream } from './event-stream';
import type { EventPublisher, LiveEventName, LiveEvents } from './types';

/** The id fields each event must carry; a message missing one is dropped, never half-delivered. */
const FIELDS: { [E in LiveEventName]: (keyof LiveEvents[E] & string)[] } = {
  CREDENTIAL_CHANGED: ['tenantId', 'credentialId'],
  KEY_REUSE_ALERT: ['tenantId', 'alertId'],
  WEBHOOK_ENDPOINT_DISABLED: ['tenantId', 'alertId'],
};
const EVENT_NAMES = Object.keys(FIELDS) as LiveEventName[];

/** The API side: a stream of one event for one tenant. */
export interface LiveEventSource {
  subscribe<E extends LiveEventName>(event: E, tenantId: string): EventStream<LiveEvents[E]>;
}

export interface RedisEvents extends EventPublisher, LiveEventSource {
  /** Ends every open stream and closes both connections. */
  close(): Promise<void>;
}

type AnyListener = (payload: LiveEvents[LiveEventName]) => void;

/**
 * Live events over Redis pub/sub: workers publish, every API process receives and fans out to
 * its subscribers of the same tenant. One channel per event name under the queue prefix, so
 * test runs and deployments sharing a Redis never see each other's events. Payloads are ids only.
 * Delivery is best effort (pub/sub keeps nothing): a page re-reads state when it reconnects.
 */
export function createRedisEvents(url: string, prefix: string, log?: Logger): RedisEvents {
  const channelOf = (event: LiveEventName) => `${prefix}:live:${event}`;
  const eventOf = new Map(EVENT_NAMES.map((e) => [channelOf(e), e]));
  // event -> tenantId -> listeners. Filtering by tenant here is what keeps tenants apart.
  const listeners = new Map<LiveEventName, Map<string, Set<AnyListener>>>();
  const streams = new Set<EventStream<unknown>>();
  let publisher: Redis | null = null;
  let subscriber: Redis | null = null;
  let closed = false;

  const throttled = (role: string) => {
    let last = 0;
    return (error: Error) => {
      // ioredis reports every failed reconnect; one line a minute says enough.
      if (Date.now() - last < 60_000) return;
      last = Date.now();
      log?.warn({ role, err: { name: error.name, message: error.message } }, 'live events: Redis connection problem');
    };
  };
  const publishError = throttled('publisher');
  const subscribeError = throttled('subscriber');

  function startSubscriber(): Redis {
    // Pub/sub needs a connection of its own; it retries forever and resubscribes after a reconnect.
    const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'keyplane-live-subscriber' });
    redis.on('error', subscribeError);
    redis.subscribe(...EVENT_NAMES.map(channelOf)).catch(subscribeError);
    redis.on('message', (channel: string, message: string) => {
      const event = eventOf.get(channel);
      const payload = event ? parse(event, message) : null;
      if (!event || !payload) return;
      for (const listener of listeners.get(event)?.get(payload.tenantId) ?? []) listener(payload);
    });
    return redis;
  }

  return {
    async publish(event, payload) {
      if (closed) return;
      // The publisher connects on first use and fails fast while Redis is down: a live event is a
      // hint for open pages, never a reason to fail or stall the job that changed the data.
      if (!publisher) {
        publisher = new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          commandTimeout: 1_000,
          connectionName: 'keyplane-live-publisher',
        });
        publisher.on('error', publishError);
      }
      const ids = Object.fromEntries(FIELDS[event].map((f) => [f, payload[f]]));
      try {
        await publisher.publish(channelOf(event), JSON.stringify(ids));
      } catch (error) {
        publishError(error as Error);
      }
    },

    subscribe<E extends LiveEventName>(event: E, tenantId: string): EventStream<LiveEvents[E]> {
      if (closed) throw new Error('live events are closed');
      subscriber ??= startSubscriber();
      const byTenant = listeners.get(event) ?? new Map<string, Set<AnyListener>>();
      listeners.set(event, byTenant);
      const set = byTenant.get(tenantId) ?? new Set<AnyListener>();
      byTenant.set(tenantId, set);
      const stream: EventStream<LiveEvents[E]> = new EventStream(() => {
        set.delete(listener);
        if (set.size === 0 && byTenant.get(tenantId) === set) byTenant.delete(tenantId);
        streams.delete(stream as EventStream<unknown>);
      });
      const listener: AnyListener = (payload) => stream.push(payload as LiveEvents[E]);
      set.add(listener);
      streams.add(stream as EventStream<unknown>);
      return stream;
    },

    async close() {
      closed = true;
      for (const stream of [...streams]) stream.end();
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

function parse<E extends LiveEventName>(event: E, message: string): LiveEvents[E] | null {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    const out: Record<string, string> = {};
    for (const field of FIELDS[event]) {
      const v = value?.[field];
      if (typeof v !== 'string' || v.length === 0 || v.length > 64) return null;
      out[field] = v;
    }
    return out as unknown as LiveEvents[E];
  } catch {
    return null;
  }
}
