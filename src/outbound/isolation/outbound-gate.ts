import type { Logger } from 'pino';
import type { SlotStore } from './slot-store';
import { deferDelayMs, destinationOf, leaseMsFor, slotKeys, slotLimits, type IsolationSettings, type Pool, type Refusal } from './slots';

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

/** Admitted: call, then `leave` with whether an answer came. Refused: put the job back for `delayMs`. */
export type Admission =
  { admitted: true; leave(outcome: { unreachable: boolean }): Promise<void> } | { admitted: false; reason: Refusal; delayMs: number };

/**
 * Takes the slots of one outbound call (slots.ts) from the shared store, and reports its outcome
 * to the destination's circuit. Why the whole design holds:
 *
 * - Fairness: a refused job leaves the worker (the processor moves it to delayed and throws
 *   DelayedError), so a tenant's excess calls wait in the delayed set, not in worker slots; at most
 *   OUTBOUND_MAX_PER_TENANT worker slots per path ever hang on one tenant, and other tenants' jobs
 *   find the rest free. A destination that keeps not answering is refused for a growing window
 *   without touching a worker slot at all, then probed by one call.
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
  private readonly limits;

  constructor(
    private readonly store: SlotStore,
    private readonly settings: IsolationSettings,
    private readonly prefix: string,
    private readonly log?: Pick<Logger, 'warn'>,
  ) {
    this.limits = slotLimits(settings);
  }

  async admit(req: GateRequest): Promise<Admission> {
    const destination = destinationOf(req.url);
    // An unparsable URL is answered at once without a connection (INVALID_URL): nothing to meter.
    if (!destination) return { admitted: true, leave: async () => undefined };
    const keys = slotKeys(this.prefix, req.pool, req.tenantId, destination);
    const s = this.settings;
    let reply;
    try {
      reply = await this.store.acquire({
        keys,
        holder: req.holder,
        limits: this.limits,
        leaseMs: leaseMsFor(req.callTimeoutMs),
        backoffAfter: s.backoffAfter,
      });
    } catch (error) {
      this.warn(error);
      return { admitted: true, leave: async () => undefined };
    }
    if (!reply.granted) return { admitted: false, reason: reply.reason, delayMs: deferDelayMs(reply, req.deferrals, s.deferMs) };
    return {
      admitted: true,
      leave: async ({ unreachable }) => {
        try {
          await this.store.report({
            circuit: keys.circuit,
            unreachable,
            backoffAfter: s.backoffAfter,
            backoffBaseMs: s.backoffBaseMs,
            backoffMaxMs: s.backoffMaxMs,
          });
          await this.store.release(keys, req.holder);
        } catch (error) {
          // The lease frees the slots when it lapses.
          this.warn(error);
        }
      },
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private warn(error: unknown): void {
    if (Date.now() - this.warnedAt < 60_000) return;
    this.warnedAt = Date.now();
    const err = error as Error;
    this.log?.warn({ err: { name: err?.name, message: err?.message } }, 'outbound slot store unreachable: calls go unmetered');
  }
}
