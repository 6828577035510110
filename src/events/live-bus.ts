import type { Logger } from 'pino';
import { EventStream } from './event-stream';
import type { EventPublisher, LiveEventName, LiveEvents } from './types';

/** The id fields each event must carry; a message missing one is dropped, never half-delivered. */
const FIELDS: { [E in LiveEventName]: (keyof LiveEvents[E] & string)[] } = {
  CREDENTIAL_CHANGED: ['tenantId', 'credentialId'],
  KEY_REUSE_ALERT: ['tenantId', 'alertId'],
  WEBHOOK_ENDPOINT_DISABLED: ['tenantId', 'alertId'],
};
export const LIVE_EVENT_NAMES = Object.keys(FIELDS) as LiveEventName[];

/** The API side: a stream of one event for one tenant. */
export interface LiveEventSource {
  subscribe<E extends LiveEventName>(event: E, tenantId: string): EventStream<LiveEvents[E]>;
}

export interface LiveEventBus extends EventPublisher, LiveEventSource {
  /** Ends every open stream and closes the transport's connections. */
  close(): Promise<void>;
}

/**
 * How messages cross processes: Redis pub/sub (redis-events.ts) or PostgreSQL LISTEN/NOTIFY
 * (pg-events.ts), per QUEUE_BACKEND. Both are best effort: a transport never throws from send,
 * and keeps nothing for a process that was not listening.
 */
export interface LiveTransport {
  send(event: LiveEventName, message: string): Promise<void>;
  /** Starts listening (on the first subscriber); resubscribes by itself after a reconnect. */
  listen(onMessage: (event: LiveEventName, message: string) => void): void;
  close(): Promise<void>;
}

type AnyListener = (payload: LiveEvents[LiveEventName]) => void;

/**
 * Live events: workers publish, every API process receives and fans out to its subscribers of
 * the same tenant. Payloads are ids only. A page re-reads state when it reconnects.
 */
export function createLiveBus(transport: LiveTransport): LiveEventBus {
  // event -> tenantId -> listeners. Filtering by tenant here is what keeps tenants apart.
  const listeners = new Map<LiveEventName, Map<string, Set<AnyListener>>>();
  const streams = new Set<EventStream<unknown>>();
  let listening = false;
  let closed = false;

  const deliver = (event: LiveEventName, message: string) => {
    const payload = parse(event, message);
    if (!payload) return;
    for (const listener of listeners.get(event)?.get(payload.tenantId) ?? []) listener(payload);
  };

  return {
    async publish(event, payload) {
      if (closed) return;
      const ids = Object.fromEntries(FIELDS[event].map((f) => [f, payload[f]]));
      await transport.send(event, JSON.stringify(ids));
    },

    subscribe<E extends LiveEventName>(event: E, tenantId: string): EventStream<LiveEvents[E]> {
      if (closed) throw new Error('live events are closed');
      if (!listening) {
        listening = true;
        transport.listen(deliver);
      }
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
      await transport.close();
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

/** Transports report every failed reconnect; one line a minute per role says enough. */
export function throttledWarn(log: Pick<Logger, 'warn'> | undefined, role: string, message: string) {
  let last = 0;
  return (error: Error) => {
    if (Date.now() - last < 60_000) return;
    last = Date.now();
    log?.warn({ role, err: { name: error.name, message: error.message } }, message);
  };
}
