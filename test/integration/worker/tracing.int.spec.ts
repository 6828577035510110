import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { createCredential, openaiKey, tenantWithTokens } from '../../factories';
import { createFakeOpenAIProvider } from '../../factories/providers';
import { startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_ENV } from '../../helpers/test-env';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';
import { startTestTracing, type TestTracing } from '../../helpers/tracing';

/*
 * Tracing on (an in-memory exporter in place of OTLP): one trace runs from the createCredential
 * request through the outbox relay into the validation job and its call to the provider, and no
 * span holds a key, a token or a secret of the deployment.
 */
let tracing: TestTracing;
let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
let providerId: string;

beforeAll(async () => {
  tracing = startTestTracing(); // first: fastify instances register with it as they are created
  t = await startTestApp();
  fake = await startFakeProvider();
  providerId = await createFakeOpenAIProvider(t, fake.baseUrl);
  w = await startTestWorkers(t);
});

afterAll(async () => {
  await w.close();
  await fake.close();
  await t.close();
  await tracing.close();
});

const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/** The chain of ancestors of `span` within `spans`, nearest first. */
function ancestors(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(spans.map((s) => [idOf(s), s]));
  const out: ReadableSpan[] = [];
  for (let cur = byId.get(parentOf(span) ?? ''); cur; cur = byId.get(parentOf(cur) ?? '')) out.push(cur);
  return out;
}

async function activeAfterRelay(credentialId: string): Promise<void> {
  await eventually(async () => {
    await w.relay();
    const [row] = await t.app.db.query('SELECT status FROM credentials WHERE id = $1', [credentialId]);
    return row.status === 'ACTIVE' ? row : null;
  }, 10_000);
}

it('one trace runs from createCredential through the outbox and the validation job to the provider', async () => {
  const { tenant, admin } = await tenantWithTokens(t);
  const secret = openaiKey();
  fake.allow(secret);
  tracing.exporter.reset();
  const { id } = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret });
  await activeAfterRelay(id);
  const spans = await eventually(async () => {
    const all = tracing.spans();
    return all.some((s) => s.name === 'outbound provider') ? all : null;
  }, 5_000);

  const resolver = spans.find((s) => s.attributes['graphql.field.name'] === 'createCredential');
  expect(resolver).toBeDefined();
  const traceId = resolver!.spanContext().traceId;
  const trace = spans.filter((s) => s.spanContext().traceId === traceId);

  // The request: an HTTP server span, fastify's route span, the GraphQL operation, the resolver.
  const request = ancestors(resolver!, trace);
  expect(request.some((s) => s.kind === SpanKind.SERVER)).toBe(true);
  expect(request.some((s) => s.name.startsWith('graphql.execute') || s.attributes['graphql.operation.type'] === 'mutation')).toBe(true);
  // Its statements are in the trace (statement text only).
  expect(trace.some((s) => s.attributes['db.system.name'] === 'postgresql')).toBe(true);

  // The hand-over to the queue joins the request's trace, the job continues it, the provider call is the job's.
  const relay = trace.find((s) => s.name === 'outbox relay validate-credential');
  expect(relay).toMatchObject({ kind: SpanKind.PRODUCER });
  const job = trace.find((s) => s.name === 'job validate-credential');
  expect(job).toMatchObject({ kind: SpanKind.CONSUMER });
  expect(parentOf(job!)).toBe(idOf(relay!));
  const outbound = trace.find((s) => s.name === 'outbound provider');
  expect(outbound).toMatchObject({ kind: SpanKind.CLIENT });
  expect(ancestors(outbound!, trace).map(idOf)).toContain(idOf(job!));
  expect(outbound!.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'http.response.status_code': 200 });
  // The root is the request: the relay's chain ends at a span of the request, not at a job of its own.
  const root = (s: ReadableSpan) => [s, ...ancestors(s, trace)].at(-1)!;
  expect(idOf(root(outbound!))).toBe(idOf(root(resolver!)));
});

it('no span records a key, a token or a secret: not from variables, inline literals, SQL parameters or URLs', async () => {
  const { tenant, admin, viewer } = await tenantWithTokens(t);
  const viaVariables = openaiKey();
  const inline = openaiKey();
  fake.allow(viaVariables);
  fake.allow(inline);
  tracing.exporter.reset();
  const first = await createCredential(t, admin, { tenantId: tenant.id, providerId, secret: viaVariables });
  // The same mutation with the key written into the document itself.
  const literal = await t.gql(
    `mutation { createCredential(input: { tenantId: "${tenant.id}", providerId: "${providerId}", label: "inline", secret: "${inline}" }) { credential { id } userErrors { code } } }`,
    {},
    admin,
  );
  expect(literal.errors).toBeUndefined();
  const second = literal.data.createCredential.credential.id as string;
  // A token in a query string (GET): never in a URL attribute.
  await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ viewer { role } }')}&token=${viewer}`, {
    headers: { authorization: `Bearer ${viewer}`, 'apollo-require-preflight': 'true' },
  });
  await activeAfterRelay(first.id);
  await activeAfterRelay(second);

  const spans = tracing.spans();
  expect(spans.length).toBeGreaterThan(20);
  const texts = spans.map((s, i) => ({
    where: `span ${i} (${s.name})`,
    text: JSON.stringify({
      name: s.name,
      attributes: s.attributes,
      events: s.events,
      status: s.status,
      links: s.links,
      resource: s.resource.attributes,
    }),
  }));
  const secrets = [
    viaVariables,
    inline,
    admin,
    viewer,
    TEST_ENV.KEYPLANE_ADMIN_TOKEN,
    TEST_ENV.KEYPLANE_MASTER_KEYS.slice(2),
    // Without its "test-fingerprint-" head, which job names share.
    TEST_ENV.KEYPLANE_FINGERPRINT_KEY.replace('test-fingerprint-', ''),
    TEST_ENV.KEYPLANE_AUDIT_SIGNING_KEYS.slice(2),
  ];
  expect(describeHits(scanTexts(texts, secrets))).toBe('');
  // What the instrumentations are told never to record is absent, not merely unmatched.
  const keys = new Set(spans.flatMap((s) => Object.keys(s.attributes)));
  expect([...keys].filter((k) => /variables|parameters|values|header|url\.query/i.test(k))).toEqual([]);
  // The document is recorded with its literals masked.
  const source = spans.map((s) => s.attributes['graphql.source']).find((v) => typeof v === 'string' && v.includes('createCredential(input: {'));
  expect(source).toBeDefined();
  expect(source).not.toContain(providerId);
});
