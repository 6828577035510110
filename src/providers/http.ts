/**
 * The only place that talks HTTP to providers. Everything here is about bounding what a provider
 * (or a misconfigured custom base URL) can do to us: time, body size, redirects, and (through the
 * outbound client's address policy) which hosts a request may reach at all.
 */
import { OutboundClient } from '../outbound';

/** Bodies we need (model lists, error envelopes) are far below this; anything bigger is not ours to parse. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpResponse {
  kind: 'response';
  status: number;
  headers: HeaderSource;
  /** Parsed JSON, or null when the body was empty, not JSON, or over MAX_BODY_BYTES. */
  json: unknown;
  latencyMs: number;
}

/**
 * No answer. `unreachable` stands for every cause (blocked by the outbound policy, unknown name,
 * refused, reset, timeout, TLS): the cause is for operator logs only, never for the tenant's result.
 */
export interface HttpFailure {
  kind: 'unreachable' | 'invalid_url';
  latencyMs: number;
}

export type HttpResult = HttpResponse | HttpFailure;

export interface HttpGetOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * The guarded client (outbound policy). Every production caller passes one; without it
   * the request goes out unguarded, which only direct library use and the validator tests do.
   */
  outbound?: OutboundClient;
  /** Whose request this is, for the operator's failure log and security events (never shown to tenants). */
  tenantId?: string | null;
}

let unguarded: OutboundClient | null = null;

/**
 * GET with one deadline for connect, headers and body. An abort from the caller's own signal is
 * rethrown (the caller is shutting down and must not record an outcome); everything else is
 * reported as a typed failure so callers never see raw transport errors. Redirects are not followed:
 * one could carry the key header to a host the tenant never configured.
 */
export async function httpGet(url: string, headers: Record<string, string>, options: HttpGetOptions): Promise<HttpResult> {
  const client = options.outbound ?? (unguarded ??= new OutboundClient(null));
  const res = await client.request(url, {
    method: 'GET',
    headers,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    readJsonUpTo: MAX_BODY_BYTES,
    tag: { purpose: 'provider', ...(options.tenantId ? { tenantId: options.tenantId } : {}) },
  });
  if (res.kind === 'response') {
    return { kind: 'response', status: res.status, headers: res.headers, json: res.json, latencyMs: res.latencyMs };
  }
  return { kind: res.errorClass === 'INVALID_URL' ? 'invalid_url' : 'unreachable', latencyMs: res.latencyMs };
}

/** Minimal header reader so mapping functions accept a fetch Headers or a plain record. */
export type HeaderSource = Pick<Headers, 'get'> | Record<string, string | undefined>;

export function headerValue(headers: HeaderSource, name: string): string | null {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers as Record<string, string | undefined>)) {
    if (k.toLowerCase() === lower && v !== undefined) return v;
  }
  return null;
}

/**
 * Seconds to wait, from retry-after-ms (OpenAI, more precise) or retry-after (seconds or an
 * HTTP date). Null when absent or unparseable; a date in the past yields 0.
 */
export function parseRetryAfter(headers: HeaderSource, nowMs: number = Date.now()): number | null {
  const ms = headerValue(headers, 'retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms)) / 1000;

  const raw = headerValue(headers, 'retry-after')?.trim();
  if (!raw) return null;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  // Date.parse accepts bare numbers like "-5" as years; an HTTP date always names a month or weekday.
  const at = /[a-z]{3}/i.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
