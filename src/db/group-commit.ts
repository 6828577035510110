/**
 * Application-level group commit: items queued by concurrent callers are written in batches, one
 * statement at a time. Items that arrive while a statement runs wait for the next one, so under
 * load one commit (one WAL flush) covers many callers, and when idle a lone item waits only for
 * the current turn of the event loop. `write` settles each item of its batch itself (callers hold
 * a promise per item) and must not throw; `take` chooses the next batch (the rest stays queued).
 */
export class GroupCommit<T> {
  private queue: T[] = [];
  private running = false;

  constructor(
    private readonly write: (batch: T[]) => Promise<void>,
    private readonly take: (queue: readonly T[]) => { batch: T[]; rest: T[] },
  ) {}

  add(item: T): void {
    this.queue.push(item);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      // Let the callers of this turn of the event loop join the first statement.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        const { batch, rest } = this.take(this.queue);
        this.queue = rest;
        await this.write(batch);
      }
    } finally {
      this.running = false;
    }
  }
}

/** The first `max` items. */
export function firstOf<T>(max: number): (queue: readonly T[]) => { batch: T[]; rest: T[] } {
  return (queue) => ({ batch: queue.slice(0, max), rest: queue.slice(max) });
}
