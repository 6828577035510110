import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DataSource } from 'typeorm';

/** How long a lease lasts without a renewing scrape: longer than any sensible scrape interval. */
export const GAUGE_LEASE_SECONDS = 60;

const TAKE = `
INSERT INTO metrics_leases (name, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 second')
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
 WHERE metrics_leases.holder = EXCLUDED.holder OR metrics_leases.expires_at < now()
RETURNING holder`;

/**
 * Which process exports the deployment-wide gauges (queue depth per state, outbox lag): every API
 * and worker process can, but only the one holding this lease does, so a deployment of five
 * processes reports each queue once, not five times, and reads the queue store once per scrape.
 * The holder renews it at each of its scrapes; when it stops (shut down: released at once; killed:
 * after GAUGE_LEASE_SECONDS) the next process scraped takes over. Keyed by the queue namespace.
 */
export class GaugeLease {
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly name: string;

  constructor(
    private readonly db: Pick<DataSource, 'query'>,
    queuePrefix: string,
    private readonly seconds = GAUGE_LEASE_SECONDS,
  ) {
    this.name = `queue-gauges:${queuePrefix}`;
  }

  /** Takes or renews the lease; false when another process holds it or the database is away. */
  async held(): Promise<boolean> {
    try {
      const rows: unknown[] = await this.db.query(TAKE, [this.name, this.holder, this.seconds]);
      return rows.length > 0;
    } catch {
      return false;
    }
  }

  /** At shutdown: the next process scraped exports the gauges at once instead of after the lease runs out. */
  async release(): Promise<void> {
    await this.db.query('DELETE FROM metrics_leases WHERE name = $1 AND holder = $2', [this.name, this.holder]).catch(() => undefined);
  }
}
