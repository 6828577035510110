import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Span, type SpanKind } from '@opentelemetry/api';

/*
 * The light half of tracing, loaded by every process: @opentelemetry/api only. While tracing is off
 * (no OTEL_EXPORTER_OTLP_ENDPOINT) nothing here allocates a span or reads a context: each helper
 * checks one flag and calls straight through, so the hot paths pay nothing.
 */
let enabled = false;

/** Set by startTracing (src/tracing/setup.ts) once a tracer provider is registered. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export function tracingEnabled(): boolean {
  return enabled;
}

const tracer = () => trace.getTracer('keyplane');

/**
 * The W3C `traceparent` of the active span (version, trace id, span id, flags), or null. Not a
 * secret: random ids that say nothing about a tenant or a key. It rides with queued work (the
 * outbox row, then the BullMQ job's `telemetry.metadata` option) so a job continues the trace of
 * the request that queued it; it is never sent to a tenant (no webhook or provider request carries it).
 */
export function currentTraceparent(): string | null {
  if (!enabled || !trace.getActiveSpan()) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** Runs `fn` with `traceparent` (from a job or an outbox row) as the parent of the spans it starts. */
export function withTraceparent<T>(traceparent: string | null | undefined, fn: () => T): T {
  if (!enabled || !traceparent) return fn();
  return context.with(propagation.extract(ROOT_CONTEXT, { traceparent }), fn);
}

export interface SpanOptions {
  kind: SpanKind;
  /** Ids, names and counts only: never a key, a token, a URL path or query, or a message from outside. */
  attributes?: Attributes;
}

/**
 * Runs `fn` inside a new active span. A thrown error marks the span failed with the error's class
 * name only: messages can carry what a provider or receiver sent back, so they stay in the logs'
 * sanitized form and out of traces.
 */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span | null) => Promise<T>): Promise<T> {
  if (!enabled) return fn(null);
  return tracer().startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      span.end();
    }
  });
}
