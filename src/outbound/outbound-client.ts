import { Agent, request } from 'undici';
import type { AddressPolicy } from './address-policy';
import { BlockedAddressError, guardedLookup, systemResolver, type Resolver } from './guarded-lookup';
import { parseIp } from './ip';

/** How a request failed before any HTTP status was seen (a subset of the webhook ErrorClass). */
export type OutboundFailureClass = 'TIMEOUT' | 'CONNECTION' | 'BLOCKED_ADDRESS' | 'INVALID_URL';

export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** One deadline for connect, headers and body. */
  timeoutMs: number;
  /** Outer cancellation (shutdown): rethrown, never reported as a failure. */
  signal?: AbortSignal;
  /** Parse a JSON body up to this many bytes; without it the body is discarded unread. */
  readJsonUpTo?: number;
}

export interface OutboundResponse {
  kind: 'response';
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON when asked for and it parsed within the cap; otherwise null. */
  json: unknown;
  latencyMs: number;
}

export interface OutboundFailure {
  kind: 'failure';
  errorClass: OutboundFailureClass;
  /** A system or policy code (ECONNREFUSED, LOOPBACK, ...); never an error message, never a URL. */
  code: string | null;
  latencyMs: number;
}

export type OutboundResult = OutboundResponse | OutboundFailure;

/** An absolute http(s) URL without credentials, or null. */
export function parseOutboundUrl(raw: string): URL | null {
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.username || url.password) return null;
    return url;
  } catch {
    return null;
  }
}

/**
 * The one HTTP client for requests to URLs that tenants or operators configure. With a policy,
 * every address is judged at connect time (see guardedLookup) and IP literals before the request.
 * Redirects are never followed (undici's `request` does not follow them): a 3xx is an answer.
 */
export class OutboundClient {
  private readonly agent: Agent;

  constructor(
    private readonly policy: AddressPolicy | null,
    resolve: Resolver = systemResolver,
  ) {
    this.agent = new Agent({ connect: policy ? { lookup: guardedLookup(policy, resolve) } : {}, keepAliveTimeout: 4_000 });
  }

  get guarded(): boolean {
    return this.policy !== null;
  }

  async request(rawUrl: string, req: OutboundRequest): Promise<OutboundResult> {
    const started = performance.now();
    const fail = (errorClass: OutboundFailureClass, code: string | null): OutboundFailure => ({
      kind: 'failure',
      errorClass,
      code,
      latencyMs: Math.round(performance.now() - started),
    });
    const url = parseOutboundUrl(rawUrl);
    if (!url) return fail('INVALID_URL', null);
    // net.connect skips `lookup` for IP literals, so those are judged here, before any socket.
    const literal = parseIp(url.hostname);
    const reason = this.policy && literal ? this.policy.check(literal.text) : null;
    if (reason) return fail('BLOCKED_ADDRESS', reason);

    const outer = req.signal;
    if (outer?.aborted) throw outer.reason;
    // AbortSignal.timeout throws on negative or fractional input; an odd value should still time out.
    const deadline = AbortSignal.timeout(Math.max(1, Math.floor(req.timeoutMs) || 1));
    const signal = outer ? AbortSignal.any([deadline, outer]) : deadline;
    try {
      const res = await request(url, { method: req.method, headers: req.headers, body: req.body, signal, dispatcher: this.agent });
      const json = req.readJsonUpTo ? await readJsonCapped(res.body, req.readJsonUpTo) : null;
      if (!req.readJsonUpTo) await res.body.dump({ limit: 64 * 1024, signal });
      return { kind: 'response', status: res.statusCode, headers: flatten(res.headers), json, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      if (outer?.aborted) throw outer.reason ?? error;
      if (deadline.aborted) return fail('TIMEOUT', null);
      const code = errorCode(error);
      if (code === 'ERR_OUTBOUND_BLOCKED') return fail('BLOCKED_ADDRESS', blockReason(error));
      if (code && /TIMEOUT/.test(code)) return fail('TIMEOUT', code);
      return fail('CONNECTION', code);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

async function readJsonCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > max) {
      // A truncated document would not parse anyway; stop paying for the transfer.
      body.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  if (total === 0) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Only a code shaped like an errno / undici code is kept: messages can contain URLs or more. */
function errorCode(error: unknown): string | null {
  const seen = new Set<unknown>();
  let cur: unknown = error;
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
}

function blockReason(error: unknown): string | null {
  let cur: unknown = error;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    if (cur instanceof BlockedAddressError) return cur.reason;
    cur = (cur as { cause?: unknown }).cause;
  }
  return null;
}
