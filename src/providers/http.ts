/**
 * The only place that talks HTTP to providers. Everything here is about bounding what a provider
 * (or a misconfigured custom base URL) can do to us: time, body size, redirects.
 */

/** Bodies we need (model lists, error envelopes) are far below this; anything bigger is not ours to parse. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpResponse {
  kind: 'response';
  status: number;
  headers: Headers;
  /** Parsed JSON, or null when the body was empty, not JSON, or over MAX_BODY_BYTES. */
  json: unknown;
  latencyMs: number;
}

export interface HttpFailure {
  kind: 'timeout' | 'network';
  /** A system error code such as ECONNREFUSED when one was available; never an error message. */
  code: string | null;
  timeoutMs: number;
  latencyMs: number;
}

export type HttpResult = HttpResponse | HttpFailure;

export interface HttpGetOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * GET with one deadline for connect, headers and body. An abort from the caller's own signal is
 * rethrown (the caller is shutting down and must not record an outcome); everything else is
 * reported as a typed failure so callers never see raw fetch errors.
 */
export async function httpGet(
  url: string,
  headers: Record<string, string>,
  options: HttpGetOptions,
): Promise<HttpResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  // AbortSignal.timeout throws on negative or fractional input; a caller's odd value should still time out.
  const deadline = AbortSignal.timeout(Math.max(1, Math.floor(options.timeoutMs) || 1));
  const outer = options.signal;
  const signal = outer ? AbortSignal.any([deadline, outer]) : deadline;

  try {
    // manual: a redirect could carry the key header to a host the tenant never configured.
    const res = await fetch(url, { method: 'GET', headers, redirect: 'manual', signal });
    const json = await readJsonCapped(res);
    return { kind: 'response', status: res.status, headers: res.headers, json, latencyMs: elapsed() };
  } catch (err) {
    if (outer?.aborted) throw outer.reason ?? err;
    const kind = deadline.aborted ? 'timeout' : 'network';
    return { kind, code: kind === 'network' ? systemCode(err) : null, timeoutMs: options.timeoutMs, latencyMs: elapsed() };
  }
}

async function readJsonCapped(res: Response): Promise<unknown> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BODY_BYTES) {
      // A truncated document would not parse anyway; stop paying for the transfer.
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  if (total === 0) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/** Only a code shaped like an errno / undici code is kept: messages can contain URLs or more. */
function systemCode(err: unknown): string | null {
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
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
