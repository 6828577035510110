/**
 * A bounded push queue read as an async iterator: what a GraphQL subscription consumes.
 * A reader that falls behind loses the oldest events rather than growing memory without bound;
 * events are ids only, so a page that missed one still shows the current state on its next read.
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  private buffer: T[] = [];
  private readers: ((result: IteratorResult<T>) => void)[] = [];
  private ended = false;

  constructor(
    /** Called once when the stream ends, from either side: unregisters the listener. */
    private readonly onEnd: () => void,
    private readonly maxBuffered = 100,
  ) {}

  push(value: T): void {
    if (this.ended) return;
    const reader = this.readers.shift();
    if (reader) return reader({ value, done: false });
    this.buffer.push(value);
    if (this.buffer.length > this.maxBuffered) this.buffer.shift();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.readers.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.end();
    return Promise.reject(error);
  }

  /** Ends the stream: pending reads complete, buffered events are dropped. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer = [];
    this.onEnd();
    for (const reader of this.readers.splice(0)) reader({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
