import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { SlotStore } from './slot-store';
import {
  deferDelayMs,
  destinationOf,
  leaseMsFor,
  maxPutBackMs,
  poolLimits,
  POOLS,
  refusingKey,
  slotKeys,
  type IsolationSettings,
  type Pool,
  type Refusal,
  type SlotKeys,
  type SlotLimits,
} from './slots';

export interface GateRequest {
  pool: Pool;
  tenantId: string;
  /** The URL about to be called; its host:port is the destination. */
  url: string;
  /** Who holds the slots: the job (queue and id), so a job restarted after a stall keeps its own place. */
  holder: string;
  /** The call's own deadline; the slots are leased for it plus a margin. */
  callTimeoutMs: number;
  /** How often this job was put back already (the put-back delay grows with it). */
  deferrals: number;
}

/**
 * Admitted: call, then `leave` with whether an answer came. Refused: put the job back for `delayMs`
 * (the fallback timer), then call `waitForSlot` so the next release of the refusing slot wakes it.
 */
export type Admission =
  | { admitted: true; leave(outcome: { unreachable: boolean }): Promise<void> }
  | { admitted: false; reason: Refusal; delayMs: number; waitForSlot(): Promise<void> };

/** Brings a put-back job (holder "<queue>:<job id>") back now: true; a job no longer delayed is left alone: false. */
export type Wake = (holder: string) => Promise<boolean>;

const REFUSALS: Refusal[] = ['TENANT', 'DESTINATION', 'TENANT_DESTINATION', 'BACKOFF'];

/**
 * Takes the slots of one outbound call (slots.ts) from the shared store, and reports its outcome
 * to the destination's circuit. Why the whole design holds:
 *
 * - Fairness: a refused job leaves the worker (the processor moves it to delayed and throws
 *   DelayedError), so a tenant's excess calls wait in the delayed set, not in worker slots; at most
 *   a pool's per-tenant limit of worker slots ever hang on one tenant, and other tenants' jobs find
 *   the rest free. A destination that keeps not answering is refused for a growing window
 *   without touching a worker slot at all, then probed by one call.
 * - Work conserving: a put-back job waits for a freed slot, not only for a timer. It is recorded
 *   as a waiter of the semaphore that refused it (after its move to delayed, so a wake always
 *   finds it delayed), and each release pops the oldest waiter of each freed semaphore, which the
 *   worker promotes (BullMQ promote). A single tenant's backlog thus keeps its slots busy instead
 *   of idling through 0.5-4 s timers, while a waiter of another tenant is woken by its own
 *   semaphores: no tenant's waiters can take another's slot. Waking is only a hint: a woken job
 *   takes its slots like any other or is put back again. The timer stays as the fallback (a lost
 *   wake, a store away, a lapsed lease, whose slot frees without a release).
 * - No lost work: a refused job is delayed, not failed; nothing was sent and no try is counted.
 * - No double send: the gate only decides whether to start; the job keeps its BullMQ lock
 *   throughout, and is moved (with that lock's token) only before anything was sent.
 * - No leaked slots: every slot is a lease of the call's deadline plus a margin; `leave` frees it
 *   at once, and a crashed worker's slots lapse by themselves.
 *
 * The store failing (Redis or PostgreSQL away) lets calls through unmetered, logged once a minute:
 * isolation is a fairness measure, and holding every job while the store is away would stop all
 * tenants instead of protecting them.
 */
export class OutboundGate {
  private warnedAt = 0;
  private readonly limits: Record<Pool, SlotLimits>;
  private readonly maxWaitMs: number;
  /** Put-backs by pool and reason; wake-ups by pool; circuits opened (a new backoff window) by pool. */
  readonly putBacks = new Counter({
    name: 'keyplane_outbound_putbacks_total',
    help: 'Outbound jobs put back for want of a slot (TENANT, DESTINATION, TENANT_DESTINATION) or for a backed-off destination (BACKOFF), by pool.',
    labelNames: ['pool', 'reason'] as const,
    registers: [],
  });
  readonly wakeups = new Counter({
    name: 'keyplane_outbound_wakeups_total',
    help: 'Put-back jobs woken (promoted) because a slot they waited for was released, by pool.',
    labelNames: ['pool'] as const,
    registers: [],
  });
  readonly circuitsOpened = new Counter({
    name: 'keyplane_outbound_circuits_opened_total',
    help: 'Backoff windows opened on a tenant+destination that kept not answering, by pool.',
    labelNames: ['pool'] as const,
    registers: [],
  });

  constructor(
    private readonly store: SlotStore,
    private readonly settings: IsolationSettings,
    private readonly prefix: string,
    private readonly log?: Pick<Logger, 'warn'>,
    private readonly wake: Wake = async () => false,
  ) {
    this.limits = { webhook: poolLimits(settings, 'webhook'), provider: poolLimits(settings, 'provider') };
    this.maxWaitMs = maxPutBackMs(settings.deferMs);
    // Every series exists from the start, so a rate() over a first event is not lost.
    for (const pool of POOLS) {
      for (const reason of REFUSALS) this.putBacks.inc({ pool, reason }, 0);
      this.wakeups.inc({ pool }, 0);
      this.circuitsOpened.inc({ pool }, 0);
    }
  }

  async admit(req: GateRequest): Promise<Admission> {
    const destination = destinationOf(req.url);
    // An unparsable URL is answered at once without a connection (INVALID_URL): nothing to meter.
    if (!destination) return { admitted: true, leave: async () => undefined };
    const keys = slotKeys(this.prefix, req.pool, req.tenantId, destination);
    const s = this.settings;
    const limits = this.limits[req.pool];
    let reply;
    try {
      reply = await this.store.acquire({ keys, holder: req.holder, limits, leaseMs: leaseMsFor(req.callTimeoutMs), backoffAfter: s.backoffAfter });
    } catch (error) {
      this.warn(error);
      return { admitted: true, leave: async () => undefined };
    }
    if (!reply.granted) {
      const { reason } = reply;
      this.putBacks.inc({ pool: req.pool, reason });
      return {
        admitted: false,
        reason,
        delayMs: deferDelayMs(reply, req.deferrals, s.deferMs),
        waitForSlot: () => this.waitForSlot(req, keys, limits, reason),
      };
    }
    return {
      admitted: true,
      leave: async ({ unreachable }) => {
        let woken: string[] = [];
        try {
          const left = await this.store.leave(keys, req.holder, this.maxWaitMs, {
            circuit: keys.circuit,
            unreachable,
            backoffAfter: s.backoffAfter,
            backoffBaseMs: s.backoffBaseMs,
            backoffMaxMs: s.backoffMaxMs,
          });
          if (left.opened) this.circuitsOpened.inc({ pool: req.pool });
          woken = left.woken;
        } catch (error) {
          // The lease frees the slots when it lapses.
          this.warn(error);
        }
        await this.wakeAll(req.pool, woken);
      },
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** Records the put-back job as a waiter of the semaphore that refused it; wakes whoever may go now. */
  private async waitForSlot(req: GateRequest, keys: SlotKeys, limits: SlotLimits, reason: Refusal): Promise<void> {
    const key = refusingKey(keys, reason);
    if (!key) return; // BACKOFF: the window is a time, not a slot
    const limit = key === keys.tenant ? limits.tenant : key === keys.destination ? limits.destination : limits.tenantDestination;
    let woken: string[] = [];
    try {
      woken = await this.store.wait({ key, limit, holder: req.holder, maxWaitMs: this.maxWaitMs });
    } catch (error) {
      this.warn(error); // the timer brings it back
    }
    await this.wakeAll(req.pool, woken);
  }

  private async wakeAll(pool: Pool, holders: string[]): Promise<void> {
    for (const holder of new Set(holders)) {
      try {
        if (await this.wake(holder)) this.wakeups.inc({ pool });
      } catch (error) {
        this.warn(error);
      }
    }
  }

  private warn(error: unknown): void {
    if (Date.now() - this.warnedAt < 60_000) return;
    this.warnedAt = Date.now();
    const err = error as Error;
    this.log?.warn({ err: { name: err?.name, message: err?.message } }, 'outbound slot store unreachable: calls go unmetered');
  }
}
