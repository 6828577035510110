import { outboxParams } from '../../../src/modules/outbox/outbox.writer';
import { currentTraceparent, inSpan, withTraceparent } from '../../../src/tracing';
import { jobTelemetry, traceparentOfJob } from '../../../workers/relay';
import { SpanKind } from '@opentelemetry/api';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const payload = { tenantId: '11111111-1111-4111-8111-111111111111', credentialId: '22222222-2222-4222-8222-222222222222', version: 1 };

describe('trace context with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('writes no traceparent to the outbox and none to the job', () => {
    expect(currentTraceparent()).toBeNull();
    expect(outboxParams([{ name: 'validate-credential', payload }])[5]).toEqual([null]);
    expect(jobTelemetry()).toEqual({});
  });

  it('keeps a traceparent taken where the job was prepared (group commit writes it from another request)', () => {
    const params = outboxParams([
      { name: 'validate-credential', payload, traceparent: TRACEPARENT },
      { name: 'validate-credential', payload: { ...payload, version: 2 } },
    ]);
    expect(params).toHaveLength(6);
    expect(params[5]).toEqual([TRACEPARENT, null]);
  });

  it('runs spans and parents straight through', async () => {
    expect(withTraceparent(TRACEPARENT, () => 7)).toBe(7);
    await expect(inSpan('x', { kind: SpanKind.INTERNAL }, async (span) => span)).resolves.toBeNull();
  });
});

describe('traceparentOfJob', () => {
  it("reads the carrier BullMQ's telemetry option holds, and nothing else", () => {
    expect(traceparentOfJob({ telemetry: { metadata: JSON.stringify({ traceparent: TRACEPARENT }) } })).toBe(TRACEPARENT);
    expect(traceparentOfJob({ telemetry: { metadata: 'not json' } })).toBeNull();
    expect(traceparentOfJob({ telemetry: { metadata: JSON.stringify({ traceparent: 5 }) } })).toBeNull();
    expect(traceparentOfJob({})).toBeNull();
    expect(traceparentOfJob(undefined)).toBeNull();
  });
});
