import { seedMillion } from '../harness/seed-million';
import type { Ctx } from './context';

export const MILLION = 1_000_000;
export const SEED_TENANTS = 1_000;

let seeded: Promise<void> | null = null;

/** The million-row data set, seeded once per run by whichever full scenario needs it first. */
export function ensureMillion(ctx: Ctx): Promise<void> {
  seeded ??= (async () => {
    const { rows } = await ctx.pool.query(`SELECT count(*)::int AS n FROM credentials WHERE label LIKE 'seed-%'`);
    if (rows[0].n >= MILLION) return ctx.log(`${rows[0].n.toLocaleString('en-US')} seeded credentials already there (--reuse-db)`);
    ctx.log(`seeding ${MILLION.toLocaleString('en-US')} credentials over ${SEED_TENANTS} tenants (not timed)`);
    await seedMillion(ctx.pool, { total: MILLION, tenants: SEED_TENANTS, providerId: ctx.openai.id, log: ctx.log });
  })();
  return seeded;
}

/** Earlier scenarios leave outbox rows; a worker started now must not relay them into its queues. */
export async function settleOutbox(ctx: Ctx): Promise<void> {
  await ctx.pool.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
}
