import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { sealedCounts, type Queryable, type SealedCount } from './sealed-rows';

/**
 * keyplane_sealed_records{kind, kek_version}: how many records each KEK version still seals, so a
 * rewrap's progress and "may version N be retired?" show on a dashboard. Computed on scrape from
 * grouped counts over the kek_version indexes (a loose index scan for the versions, an index-only
 * count per version), cached for `ttlMs` so frequent scrapes cost nothing. Labels come from the
 * seal catalogue and integer versions: bounded, and nothing secret.
 */
export function sealedRecordsGauge(db: Queryable, log: Pick<Logger, 'warn'>, ttlMs = 60_000): Gauge<'kind' | 'kek_version'> {
  let cache: { at: number; counts: SealedCount[] } | null = null;
  let pending: Promise<SealedCount[]> | null = null;
  return new Gauge({
    name: 'keyplane_sealed_records',
    help: 'Sealed records per seal kind and KEK version (refreshed at most once a minute).',
    labelNames: ['kind', 'kek_version'] as const,
    registers: [],
    async collect() {
      if (!cache || Date.now() - cache.at > ttlMs) {
        try {
          pending ??= sealedCounts(db).finally(() => (pending = null));
          cache = { at: Date.now(), counts: await pending };
        } catch (error) {
          log.warn({ err: { name: (error as Error).name, message: (error as Error).message } }, 'sealed record counts failed');
          if (!cache) return;
        }
      }
      this.reset();
      for (const c of cache.counts) this.set({ kind: c.kind, kek_version: String(c.kekVersion) }, c.count);
    },
  });
}
