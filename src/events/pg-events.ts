import { Client, escapeIdentifier, Pool } from 'pg';
import type { Logger } from 'pino';
import { queueSchemaOf } from '../config-values';
import { createLiveBus, LIVE_EVENT_NAMES, throttledWarn, type LiveEventBus, type LiveTransport } from './live-bus';
import type { LiveEventName } from './types';

const RECONNECT_MS = 1_000;

/** One NOTIFY channel per deployment (queue prefix), as Redis has one channel per prefix and event. */
export function liveChannelOf(prefix: string): string {
  return `${queueSchemaOf(prefix)}_live`;
}

/**
 * Live events over PostgreSQL LISTEN/NOTIFY, for QUEUE_BACKEND=postgres: no Redis anywhere.
 * NOTIFY is delivered to every listening session after the sender's transaction commits, which
 * here is the send itself (autocommit), and carries at most 8000 bytes: ids only, as on Redis.
 */
export function createPgEvents(databaseUrl: string, prefix: string, log?: Logger): LiveEventBus {
  return createLiveBus(pgTransport(databaseUrl, liveChannelOf(prefix), log));
}

function pgTransport(databaseUrl: string, channel: string, log?: Logger): LiveTransport {
  const publishError = throttledWarn(log, 'publisher', 'live events: PostgreSQL connection problem');
  const listenError = throttledWarn(log, 'subscriber', 'live events: PostgreSQL connection problem');
  const known = new Set<string>(LIVE_EVENT_NAMES);
  let publisher: Pool | null = null;
  let listener: Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let closed = false;

  const connect = async (onMessage: (event: LiveEventName, message: string) => void) => {
    if (closed) return;
    const client = new Client({ connectionString: databaseUrl, application_name: 'keyplane-live-listener', keepAlive: true });
    listener = client;
    const reconnect = (error?: Error) => {
      if (error) listenError(error);
      if (listener !== client) return;
      listener = null;
      client.end().catch(() => undefined);
      if (!closed) retry = setTimeout(() => void connect(onMessage), RECONNECT_MS);
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    client.on('notification', (n) => {
      if (n.channel !== channel || !n.payload) return;
      const cut = n.payload.indexOf(' ');
      const event = n.payload.slice(0, cut);
      if (cut > 0 && known.has(event)) onMessage(event as LiveEventName, n.payload.slice(cut + 1));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${escapeIdentifier(channel)}`);
    } catch (error) {
      reconnect(error as Error);
    }
  };

  return {
    async send(event, message) {
      // Fails fast (short connect timeout, one connection): a live event never stalls the job.
      if (!publisher) {
        publisher = new Pool({ connectionString: databaseUrl, max: 1, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 1_000 });
        publisher.on('error', publishError);
      }
      try {
        await publisher.query('SELECT pg_notify($1, $2)', [channel, `${event} ${message}`]);
      } catch (error) {
        publishError(error as Error);
      }
    },
    listen(onMessage) {
      void connect(onMessage);
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const [client, pool] = [listener, publisher];
      listener = publisher = null;
      await Promise.all([client?.end().catch(() => undefined), pool?.end().catch(() => undefined)]);
    },
  };
}
