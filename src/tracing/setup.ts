import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { core, NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { setTracingEnabled } from './spans';

/*
 * The heavy half of tracing: loaded only when tracing is on (src/tracing/start.ts), so a process
 * without OTEL_EXPORTER_OTLP_ENDPOINT never loads the SDK. Dependencies, each pinned exactly in
 * package.json: @opentelemetry/sdk-node (the SDK), sdk-trace (processors, samplers, and the
 * in-memory exporter the tests use), exporter-trace-otlp-proto (OTLP over HTTP), and the http,
 * graphql, pg and ioredis instrumentations; @fastify/otel is fastify's own instrumentation (the
 * OpenTelemetry contrib one was retired in its favour). They are the 2.x SDK line: the 3.x line
 * (sdk-node 0.30x) does not yet have a fastify instrumentation that accepts its API version.
 */

/** Requests nobody wants a trace of: probes, scrapes, and the dashboard's polling. */
const UNTRACED_PATHS = ['/healthz', '/readyz', '/metrics'];
const untraced = (url: string | undefined) => {
  const path = (url ?? '/').split('?')[0];
  return UNTRACED_PATHS.includes(path) || path.startsWith('/admin/queues');
};

/** Attributes that may hold a URL: a query string can carry a token, so it is cut off. */
const URL_ATTRIBUTES = ['http.target', 'http.url', 'url.full', 'url.path'];

/**
 * Runs as each span ends, before any exporter sees it: drops query strings from URL attributes
 * and the query attribute itself. A second line behind the instrumentations' own settings below.
 */
export class UrlScrubber implements SpanProcessor {
  onStart(_span: Span, _parent: Context): void {}
  onEnding(span: Span): void {
    for (const name of URL_ATTRIBUTES) {
      const value = span.attributes[name];
      if (typeof value === 'string' && value.includes('?')) span.setAttribute(name, value.slice(0, value.indexOf('?')));
    }
    if (span.attributes['url.query'] !== undefined) span.setAttribute('url.query', '');
  }
  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The instrumentations and what each is told never to record:
 * - graphql: no argument or variable values (allowValues: false masks literals in the document),
 *   resolver spans for root fields only (createCredential, credentials...), not for every field;
 * - pg: statement text only (always parameterised), never parameter values
 *   (enhancedDatabaseReporting: false), and only inside a traced operation;
 * - ioredis: the command name only (BullMQ's scripts take job ids and data as arguments);
 * - http: incoming requests only (outbound calls go through undici and get their own span with the
 *   host alone, src/outbound/outbound-client.ts), no headers.
 */
export function keyplaneInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      disableOutgoingRequestInstrumentation: true,
      ignoreIncomingRequestHook: (req) => untraced(req.url),
    }),
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      instrumentHooks: false,
      ignorePaths: (route) => untraced(route.url),
    }),
    new GraphQLInstrumentation({ allowValues: false, depth: 1, mergeItems: true, ignoreTrivialResolveSpans: true }),
    new PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true, ignoreConnectSpans: true }),
    new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
  ];
}

export interface TracingOptions {
  serviceName: string;
  /** The OTLP/HTTP endpoint (traces go to <endpoint>/v1/traces); ignored when `exporter` is given. */
  endpoint?: string;
  /** Tests: an exporter (InMemorySpanExporter) fed span by span, instead of OTLP in batches. */
  exporter?: SpanExporter;
  sampleRatio: number;
}

export interface Tracing {
  instrumentations: Instrumentation[];
  shutdown(): Promise<void>;
}

export function startTracing(options: TracingOptions): Tracing {
  const exporter =
    options.exporter ?? new OTLPTraceExporter({ url: `${(options.endpoint ?? 'http://127.0.0.1:4318').replace(/\/+$/, '')}/v1/traces` });
  const instrumentations = keyplaneInstrumentations();
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    // No host or process detectors: the process detector records the command line.
    autoDetectResources: false,
    instrumentations,
    spanProcessors: [new UrlScrubber(), options.exporter ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter })],
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    // W3C trace context only (no baggage: nothing but ids crosses a process boundary).
    textMapPropagator: new core.W3CTraceContextPropagator(),
    // Traces only: metrics stay on Prometheus (/metrics), logs on stdout. Empty lists stop the SDK
    // from setting up OTLP metric and log exporters from its environment defaults.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  setTracingEnabled(true);
  return {
    instrumentations,
    async shutdown() {
      setTracingEnabled(false);
      await sdk.shutdown();
    },
  };
}
