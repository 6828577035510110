import type { Queue } from 'bullmq';
import type { QueueBackend } from '../../queue/backend';
import type { RescanState } from './key-reuse.rules';

export interface RescanJobView {
  state: RescanState;
  processed: number | null;
  total: number | null;
  /** Only jobs that report them (the pepper rekey). */
  rekeyed?: number | null;
  failed?: number | null;
}

const STATE: Record<string, RescanState> = {
  waiting: 'WAITING',
  prioritized: 'WAITING',
  delayed: 'WAITING', // includes a retry waiting for its backoff
  'waiting-children': 'WAITING',
  active: 'ACTIVE',
  completed: 'COMPLETED',
  failed: 'FAILED',
};

/**
 * Read-only view of the maintenance queue, for rescan status. The API adds jobs only through the
 * outbox, so this never adds anything; it connects on first use (the backend's fail-fast producer
 * connection), so an API that is never asked needs no queue connection.
 */
export class RescanStatusReader {
  private queue: Queue | null = null;

  constructor(
    private readonly backend: Pick<QueueBackend, 'queue'>,
    private readonly onError: (error: Error) => void,
  ) {}

  async find(jobId: string): Promise<RescanJobView | null> {
    const job = await this.maintenance().getJob(jobId);
    if (!job) return null;
    const state = STATE[await job.getState()] ?? 'WAITING';
    const progress = job.progress as { processed?: unknown; total?: unknown; rekeyed?: unknown; failed?: unknown } | number | null;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const p = typeof progress === 'object' && progress ? progress : {};
    return { state, processed: num(p.processed), total: num(p.total), rekeyed: num(p.rekeyed), failed: num(p.failed) };
  }

  async close(): Promise<void> {
    const queue = this.queue;
    this.queue = null;
    await queue?.close();
  }

  private maintenance(): Queue {
    if (!this.queue) {
      this.queue = this.backend.queue('maintenance', { view: true });
      this.queue.on('error', this.onError);
    }
    return this.queue;
  }
}
