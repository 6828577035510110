import { DelayedError, UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { hasUnreachableSqlState, socketCodeOf } from '../src/db/availability';
import { DatabaseUnavailableError } from '../src/errors';

/** How often the database is asked again while it is down: from 1 s, doubling, at most this. */
const MAX_PROBE_INTERVAL_MS = 10_000;
const PROBE_TIMEOUT_MS = 3_000;
/** A probe that answered this recently is trusted (a burst of failing jobs costs one probe). */
const PROBE_FRESH_MS = 1_000;
/** How long a job waits in its worker for the database before it is put back as delayed. */
const HOLD_MS = 15_000;

/** Counted in the job's data: tries the database's absence cut short, not counted as tries. */
export const DB_DEFERRALS = 'dbDeferrals';

/** Errors of our own processors and of BullMQ that say what happened: never a database outage. */
const DECIDED = new Set(['UnrecoverableError', 'DelayedError', 'WaitingError', 'WaitingChildrenError', 'RateLimitError', 'WebhookRetryError']);

/**
 * PostgreSQL is the source of truth every job reads: while it is unreachable a job cannot do its
 * work, and failing it would burn its tries (and end it for good after a minute of outage). The
 * gate tells such failures apart, pauses fetching on this process's workers, asks the database
 * until it answers, then resumes them; each job it caught is put back as delayed, its try not
 * counted.
 */
export class DatabaseGate {
  private down = false;
  private downSince = 0;
  private waiters: (() => void)[] = [];
  private lastOk = 0;
  private probing: Promise<boolean> | null = null;
  private workers: Worker[] = [];
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Pick<DataSource, 'query'>,
    private readonly log: Pick<Logger, 'warn' | 'info'>,
  ) {}

  attach(workers: Worker[]): void {
    this.workers = workers;
  }

  get isDown(): boolean {
    return this.down;
  }

  /**
   * Whether a job's error means PostgreSQL is unreachable: a SQLSTATE that says so, or any other
   * unexpected error while the database does not answer a probe (this covers the driver's socket
   * errors and its code-less ones, and never takes another service's refused socket for the database's).
   */
  async unreachable(error: unknown): Promise<boolean> {
    if (error instanceof Error && DECIDED.has(error.name)) return false;
    if (this.down || hasUnreachableSqlState(error)) return true;
    return !(await this.probe());
  }

  /** The database did not answer: pause fetching and start asking it until it does. */
  markDown(): void {
    if (this.down || this.stopped) return;
    this.down = true;
    this.downSince = Date.now();
    this.log.warn('database unreachable: workers paused, jobs wait without using their tries');
    // Not awaited: pause(true) does not wait for active jobs, this one included.
    for (const worker of this.workers) worker.pause(true).catch(() => undefined);
    this.schedule(1_000);
  }

  /** Resolves once the database answers again, or after `maxMs`, or at shutdown. */
  waitUp(maxMs = HOLD_MS): Promise<void> {
    if (!this.down || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxMs);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Shutdown: no more probing; held jobs go back to the queue now. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.release();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      if (await this.probe()) return this.up();
      this.schedule(Math.min(delayMs * 2, MAX_PROBE_INTERVAL_MS));
    }, delayMs);
  }

  private up(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info({ downForMs: Date.now() - this.downSince }, 'database reachable again: workers resumed');
    if (!this.stopped) for (const worker of this.workers) worker.resume();
    this.release();
  }

  private release(): void {
    for (const done of this.waiters.splice(0)) done();
  }

  private probe(): Promise<boolean> {
    if (Date.now() - this.lastOk < PROBE_FRESH_MS) return Promise.resolve(true);
    this.probing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS)));
        await Promise.race([this.db.query('SELECT 1'), timeout]);
        this.lastOk = Date.now();
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
        this.probing = null;
      }
    })();
    return this.probing;
  }
}

type GatedJob = Pick<Job, 'data' | 'token' | 'attemptsStarted' | 'moveToDelayed' | 'updateData' | 'id' | 'name'>;

/**
 * Tries cut short by the database count for nothing: processors decide their last try from
 * attemptsStarted (a Retry-After delay counts, see deliver-webhook), which BullMQ raises on every
 * start, so the deferrals recorded in the job's data are taken off before the processor runs.
 */
export function forgiveDeferrals(job: Pick<Job, 'data' | 'attemptsStarted'>): void {
  const deferred = Number((job.data as Record<string, unknown> | undefined)?.[DB_DEFERRALS] ?? 0);
  if (deferred > 0) job.attemptsStarted = Math.max(0, (job.attemptsStarted ?? 0) - deferred);
}

/**
 * Runs a processor behind the gate. A failure caused by the database's absence becomes a delay
 * (moveToDelayed + DelayedError, as the webhook Retry-After does): no try used, and no driver
 * text (which names the database's host and port) in the job's failure reason. Any other error
 * that still carries a database connection code is replaced by DatabaseUnavailableError's fixed text.
 */
export async function behindDatabaseGate<T>(gate: DatabaseGate, job: GatedJob, run: () => Promise<T>): Promise<T> {
  forgiveDeferrals(job);
  try {
    return await run();
  } catch (error) {
    if (!(await gate.unreachable(error))) throw error;
    gate.markDown();
    await deferForDatabase(gate, job);
    throw new DelayedError('database unreachable: retried later, no try used');
  }
}

async function deferForDatabase(gate: DatabaseGate, job: GatedJob): Promise<void> {
  // On the PostgreSQL queue backend the job itself lives in the database that is away: it is moved
  // once the database answers (or at shutdown, when a stalled job is picked up again anyway).
  for (let tries = 0; tries < 1000; tries++) {
    await gate.waitUp();
    try {
      const deferred = Number((job.data as Record<string, unknown> | undefined)?.[DB_DEFERRALS] ?? 0);
      await job.updateData({ ...(job.data as Record<string, unknown>), [DB_DEFERRALS]: deferred + 1 });
      // Spread: every job caught by one outage must not come back at the same instant.
      await job.moveToDelayed(Date.now() + 1_000 + Math.floor(Math.random() * 2_000) + (gate.isDown ? 4_000 : 0), job.token);
      return;
    } catch {
      // The store is unreachable too (the PostgreSQL backend), or the job's lock was lost (then
      // it is already back in the queue): wait and try again while the database is down.
      if (!gate.isDown) return;
    }
  }
}

/** A failed connection, named by its code only: the socket error's text names the peer's address. */
export class ConnectionFailedError extends Error {
  override name = 'ConnectionFailedError';
}

/** A job error as it may be stored (failedReason, stacktrace): connection failures never carry the driver's text. */
export function sanitizedJobError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof UnrecoverableError) return error;
  if (hasUnreachableSqlState(error)) return new DatabaseUnavailableError();
  const code = socketCodeOf(error);
  return code ? new ConnectionFailedError(`connection failed (${code})`) : error;
}
