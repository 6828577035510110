import { isIP } from 'node:net';

/*
 * Value parsers of config.ts, each pure (config.ts alone reads process.env and passes what it read):
 * lists, DNS server addresses, operator provider hosts.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function list(value: string): string[] {
  return Object.freeze(
    value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ) as string[];
}

/** `1.2.3.4`, `1.2.3.4:53`, `::1` or `[::1]:53`: what dns.Resolver#setServers takes. */
export function isDnsServer(entry: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry);
  if (bracketed) return isIP(bracketed[1]) === 6;
  const v4 = /^([^:]+)(?::(\d{1,5}))?$/.exec(entry);
  return v4 ? isIP(v4[1]) === 4 : isIP(entry) === 6;
}

const PROVIDER_BASE_URL = /^PROVIDER_BASE_URL_([A-Z0-9_]+)$/;

/**
 * PROVIDER_BASE_URL_<SLUG> (upper case, "-" as "_") for each built-in provider to repoint. Only
 * plain http(s) URLs without credentials, query or fragment: the value is logged at start.
 */
export function providerBaseUrls(env: NodeJS.ProcessEnv): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  const bad: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    const match = PROVIDER_BASE_URL.exec(name);
    if (!match || value === undefined) continue;
    let url: URL | null = null;
    try {
      url = new URL(value.trim());
    } catch {
      url = null;
    }
    const plain = url && ['http:', 'https:'].includes(url.protocol) && !url.username && !url.password && !url.search && !url.hash;
    if (!url || !plain) {
      bad.push(`${name} (must be an http(s) URL without credentials, query or fragment)`);
      continue;
    }
    out[match[1].toLowerCase().replace(/_/g, '-')] = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  }
  if (bad.length) throw new ConfigError(`invalid configuration: ${bad.join('; ')}`);
  return Object.freeze(out);
}

/**
 * The PostgreSQL schema BullMQ's tables live in for a queue prefix (QUEUE_BACKEND=postgres): one
 * schema per deployment, as a Redis prefix is one keyspace per deployment. `keyplane` gives
 * `keyplane_queues`. config.ts has already refused a prefix that would not make an identifier.
 */
export function queueSchemaOf(prefix: string): string {
  return `${prefix.toLowerCase().replace(/-/g, '_')}_queues`;
}

/** host:port/database of a PostgreSQL URL, for start-up lines: never the user or password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname || '/'}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

/**
 * The isolation settings, checked together: a backoff whose maximum is below its base would make
 * OUTBOUND_BACKOFF_BASE_MS silently mean less than it says.
 */
export function isolationSettings<T extends { backoffBaseMs: number; backoffMaxMs: number }>(s: T): Readonly<T> {
  if (s.backoffMaxMs < s.backoffBaseMs) {
    throw new ConfigError('invalid configuration: OUTBOUND_BACKOFF_MAX_MS (must be at least OUTBOUND_BACKOFF_BASE_MS)');
  }
  return Object.freeze({ ...s });
}
