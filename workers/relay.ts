import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Queues } from '../src/queue/queues';
import { jobOptions, type JobName, type JobPayloads, type QueueName } from '../src/queue/registry';
import { SpanKind } from '@opentelemetry/api';
import { currentTraceparent, inSpan, withTraceparent } from '../src/tracing';
import type { ConfirmReplication } from './replica-acks';

interface OutboxRow {
  id: string;
  queue: QueueName;
  job_name: string;
  job_id: string;
  payload: Record<string, unknown>;
  trace_parent: string | null;
}

/**
 * The trace context a job carries, in BullMQ's own place for it (the `telemetry.metadata` job
 * option, a JSON carrier as bullmq-otel writes it): a W3C traceparent, random ids only. Job data
 * stays ids-only; nothing here reaches a tenant.
 */
export function jobTelemetry(): { telemetry: { metadata: string } } | Record<string, never> {
  const traceparent = currentTraceparent();
  return traceparent ? { telemetry: { metadata: JSON.stringify({ traceparent }) } } : {};
}

/** The traceparent jobTelemetry stored, or null (tracing off when queued, or a malformed value). */
export function traceparentOfJob(opts: { telemetry?: { metadata?: unknown } } | undefined): string | null {
  const metadata = opts?.telemetry?.metadata;
  if (typeof metadata !== 'string') return null;
  try {
    const traceparent = (JSON.parse(metadata) as { traceparent?: unknown }).traceparent;
    return typeof traceparent === 'string' ? traceparent : null;
  } catch {
    return null;
  }
}

/**
 * Moves committed outbox rows to BullMQ. SKIP LOCKED lets several worker processes relay at once
 * without taking the same rows. A row is marked sent only after Redis accepted the job; if the
 * process dies in between, the row is sent again and the deterministic job id makes it a no-op.
 */
export async function relayOnce(db: DataSource, queues: Queues, batchSize = 200, confirm: ConfirmReplication | null = null): Promise<number> {
  return db.transaction(async (tx) => {
    const rows: OutboxRow[] = await tx.query(
      `SELECT id, queue, job_name, job_id, payload, trace_parent FROM outbox
        WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize],
    );
    if (rows.length === 0) return 0;
    for (const row of rows) {
      const name = row.job_name as JobName;
      // Options (deduplication, delay) come from the registry; the id is the one fixed at commit time.
      const options = { ...jobOptions(name, row.payload as unknown as JobPayloads[typeof name]), jobId: row.job_id };
      // Tracing on: the hand-over joins the trace of the request that wrote the row.
      await withTraceparent(row.trace_parent, () =>
        inSpan(`outbox relay ${name}`, { kind: SpanKind.PRODUCER, attributes: relayAttributes(row) }, () =>
          queues[row.queue].add(name, row.payload, { ...options, ...jobTelemetry() }),
        ),
      );
    }
    // QUEUE_REPLICA_ACKS: not marked sent until replicas hold the jobs (a throw rolls back).
    if (confirm) await confirm([...new Set(rows.map((r) => r.queue))]);
    await tx.query('UPDATE outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
    return rows.length;
  });
}

const relayAttributes = (row: OutboxRow) => ({
  'messaging.system': 'bullmq',
  'messaging.operation.type': 'send',
  'messaging.destination.name': row.queue,
  'messaging.message.id': row.job_id,
  'keyplane.outbox.id': row.id,
});

/** Polls the outbox until stopped; backs off while Redis or PostgreSQL is unreachable. */
export function startRelay(
  db: DataSource,
  queues: Queues,
  log: Logger,
  intervalMs = 250,
  confirm: ConfirmReplication | null = null,
): { stop(): Promise<void> } {
  let running = true;
  let delay = intervalMs;
  const loop = (async () => {
    while (running) {
      try {
        const moved = await relayOnce(db, queues, 200, confirm);
        delay = moved > 0 ? 0 : intervalMs;
      } catch (error) {
        log.warn({ err: error }, 'outbox relay failed; retrying');
        delay = Math.min(Math.max(delay * 2, intervalMs), 10_000);
      }
      if (running && delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}
