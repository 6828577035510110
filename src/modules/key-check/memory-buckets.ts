import { gcra, type Rate } from './gcra';

/** Entries kept before expired ones are swept (each entry is one number). */
const SWEEP_AT = 50_000;

/**
 * The same two-bucket step as TAKE_SCRIPT, in this process only: what the limiter falls back to
 * while Redis cannot answer. Limits then hold per API process (N processes: up to N times the
 * limit), which is bounded, unlike letting every check through.
 */
export class MemoryBuckets {
  private readonly tats = new Map<string, { tat: number; until: number }>();
  private readonly refusals = new Map<string, { count: number; until: number }>();

  take(
    now: number,
    a: { key: string; rate: Rate },
    b: { key: string; rate: Rate },
    refusalKey: string,
    windowMs: number,
  ): { allowed: boolean; waitMs: number; refused: number } {
    this.sweep(now);
    const ra = gcra(this.live(a.key, now), now, a.rate);
    const rb = gcra(this.live(b.key, now), now, b.rate);
    const waitMs = Math.max(ra.waitMs, rb.waitMs);
    if (waitMs > 0) {
      const held = this.refusals.get(refusalKey);
      const entry = held && held.until > now ? held : { count: 0, until: now + windowMs };
      entry.count++;
      this.refusals.set(refusalKey, entry);
      return { allowed: false, waitMs, refused: entry.count };
    }
    this.tats.set(a.key, { tat: ra.newTat, until: ra.newTat });
    this.tats.set(b.key, { tat: rb.newTat, until: rb.newTat });
    return { allowed: true, waitMs: 0, refused: 0 };
  }

  private live(key: string, now: number): number | undefined {
    const held = this.tats.get(key);
    return held && held.until > now ? held.tat : undefined;
  }

  private sweep(now: number): void {
    if (this.tats.size + this.refusals.size < SWEEP_AT) return;
    for (const [k, v] of this.tats) if (v.until <= now) this.tats.delete(k);
    for (const [k, v] of this.refusals) if (v.until <= now) this.refusals.delete(k);
  }
}
