import { SpanKind } from '@opentelemetry/api';
import { Agent, request } from 'undici';
import { inSpan, tracingEnabled } from '../tracing/spans';
import { reasonOf, type FailureReason, type OutboundFailureEvent, type OutboundFailureListener, type OutboundTag } from './failures';
import { BlockedAddressError, guardedLookup, systemResolver, type Resolver } from './guarded-lookup';
import { parseOutboundUrl, type OutboundPolicy } from './outbound-policy';

/**
 * What a caller (and through it a tenant) learns about a request that got no answer. One class for
 * every cause, so the outcome does not tell a blocked name from an unknown one, a refused port or a
 * hanging receiver; the cause goes to operators through the failure listeners only.
 */
export type OutboundFailureClass = 'UNREACHABLE' | 'INVALID_URL';

export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** One deadline for connect, headers and body. A failure is never reported before it passes. */
  timeoutMs: number;
  /** Outer cancellation (shutdown): rethrown, never reported as a failure. */
  signal?: AbortSignal;
  /** Parse a JSON body up to this many bytes; without it the body is discarded unread. */
  readJsonUpTo?: number;
  /** For operator logs: what the request is for. */
  tag?: OutboundTag;
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
  latencyMs: number;
}

export type OutboundResult = OutboundResponse | OutboundFailure;

/**
 * The one HTTP client for requests to URLs that tenants or operators configure. With a policy, the
 * URL is judged before the request (scheme, host, port, IP literals) and every address a name
 * resolves to at connect time (see guardedLookup). Redirects are never followed (undici's `request`
 * does not follow them): a 3xx is an answer.
 */
export class OutboundClient {
  private readonly agent: Agent;
  private readonly listeners = new Set<OutboundFailureListener>();

  constructor(
    private readonly policy: OutboundPolicy | null,
    resolve: Resolver = systemResolver,
  ) {
    this.agent = new Agent({ connect: policy ? { lookup: guardedLookup(policy.addresses, resolve) } : {}, keepAliveTimeout: 4_000 });
  }

  get guarded(): boolean {
    return this.policy !== null;
  }

  /** Operator-side telemetry (logs, metric); returns the unsubscribe. */
  onFailure(listener: OutboundFailureListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Tracing on: one client span per request, with the method, the host, and the status or failure
   * class. Never the path or query (a webhook URL can hold a token), headers or bodies; and no
   * trace context is sent: receivers and providers are outside Keyplane's trust boundary.
   */
  async request(rawUrl: string, req: OutboundRequest): Promise<OutboundResult> {
    if (!tracingEnabled()) return this.send(rawUrl, req);
    const attributes = {
      'http.request.method': req.method,
      'server.address': hostOf(rawUrl),
      'keyplane.outbound.purpose': req.tag?.purpose ?? 'other',
    };
    return inSpan(`outbound ${req.tag?.purpose ?? 'request'}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const result = await this.send(rawUrl, req);
      if (result.kind === 'response') span?.setAttribute('http.response.status_code', result.status);
      else span?.setAttribute('keyplane.outbound.failure', result.errorClass);
      return result;
    });
  }

  private async send(rawUrl: string, req: OutboundRequest): Promise<OutboundResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const url = parseOutboundUrl(rawUrl);
    // Nothing about the network is learnt from a malformed URL: answered at once.
    if (!url) return { kind: 'failure', errorClass: 'INVALID_URL', latencyMs: elapsed() };

    const outer = req.signal;
    if (outer?.aborted) throw outer.reason;
    // AbortSignal.timeout throws on negative or fractional input; an odd value should still time out.
    const deadline = AbortSignal.timeout(Math.max(1, Math.floor(req.timeoutMs) || 1));
    const unreachable = async (reason: FailureReason, detail: string | null): Promise<OutboundFailure> => {
      // Every cause waits out the deadline, so timing does not tell a blocked or unknown name or a
      // refused port (all fast) from a receiver that hangs.
      await untilAborted(deadline, outer);
      const failure: OutboundFailure = { kind: 'failure', errorClass: 'UNREACHABLE', latencyMs: elapsed() };
      this.report({ reason, detail, tag: req.tag ?? null, latencyMs: failure.latencyMs });
      return failure;
    };

    // net.connect skips `lookup` for IP literals, so those are judged here, before any socket.
    const refusal = this.policy?.checkUrl(url) ?? null;
    if (refusal) {
      return refusal.rule === 'DESTINATION' ? unreachable('policy_destination', 'DESTINATION') : unreachable('policy_address', refusal.reason);
    }
    const signal = outer ? AbortSignal.any([deadline, outer]) : deadline;
    try {
      const res = await request(url, { method: req.method, headers: req.headers, body: req.body, signal, dispatcher: this.agent });
      const json = req.readJsonUpTo ? await readJsonCapped(res.body, req.readJsonUpTo) : null;
      if (!req.readJsonUpTo) await res.body.dump({ limit: 64 * 1024, signal });
      return { kind: 'response', status: res.statusCode, headers: flatten(res.headers), json, latencyMs: elapsed() };
    } catch (error) {
      if (outer?.aborted) throw outer.reason ?? error;
      if (deadline.aborted) return unreachable('timeout', null);
      const code = errorCode(error);
      const blocked = blockReason(error);
      return blocked ? unreachable('policy_address', blocked) : unreachable(reasonOf(code), code);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /**
   * The single call point for every failed outbound request, policy refusals included: operator
   * logs and the metric subscribe here, and so should a future security-event recorder
   * (reasons policy_destination / policy_address).
   */
  private report(event: OutboundFailureEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // Telemetry must never turn a delivery result into an exception.
      }
    }
  }
}

function hostOf(rawUrl: string): string {
  try {
    return new URL(rawUrl).hostname;
  } catch {
    return '';
  }
}

/** Resolves when `deadline` fires; rethrows an outer abort (shutdown) so nothing is recorded. */
function untilAborted(deadline: AbortSignal, outer: AbortSignal | undefined): Promise<void> {
  if (outer?.aborted) return Promise.reject(outer.reason);
  if (deadline.aborted) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      outer?.removeEventListener('abort', stop);
      resolve();
    };
    const stop = () => {
      deadline.removeEventListener('abort', done);
      reject(outer!.reason);
    };
    deadline.addEventListener('abort', done, { once: true });
    outer?.addEventListener('abort', stop, { once: true });
  });
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
