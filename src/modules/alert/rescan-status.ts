import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../../queue/connection';
import type { RescanState } from './key-reuse.rules';

export interface RescanJobView {
  state: RescanState;
  processed: number | null;
  total: number | null;
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
 * outbox, so this never adds anything; it connects (fail-fast producer connection) on first use,
 * so an API that is never asked does not need Redis.
 */
export class RescanStatusReader {
  private redis: Redis | null = null;
  private queue: Queue | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly onError: (error: Error) => void,
  ) {}

  async find(jobId: string): Promise<RescanJobView | null> {
    const job = await this.maintenance().getJob(jobId);
    if (!job) return null;
    const state = STATE[await job.getState()] ?? 'WAITING';
    const progress = job.progress as { processed?: unknown; total?: unknown } | number | null;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return {
      state,
      processed: typeof progress === 'object' && progress ? num(progress.processed) : null,
      total: typeof progress === 'object' && progress ? num(progress.total) : null,
    };
  }

  async close(): Promise<void> {
    const [queue, redis] = [this.queue, this.redis];
    this.queue = this.redis = null;
    await queue?.close();
    redis?.disconnect();
  }

  private maintenance(): Queue {
    if (!this.queue) {
      this.redis = createRedis(this.redisUrl, 'producer');
      this.redis.on('error', this.onError);
      this.queue = new Queue('maintenance', { connection: this.redis, prefix: this.prefix });
      this.queue.on('error', this.onError);
    }
    return this.queue;
  }
}
