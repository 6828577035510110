import { Counter, Gauge } from 'prom-client';

/** How replica freshness is measured and reported; src/db/replicas.ts routes with it. */

export interface ReplicaMetrics {
  reads: Counter<'target'>;
  fallbacks: Counter<'reason'>;
  lag: Gauge<'replica'>;
  up: Gauge<'replica'>;
}

export function replicaMetrics(): ReplicaMetrics {
  return {
    reads: new Counter({
      name: 'keyplane_db_read_route_total',
      help: 'GraphQL queries by where their reads went (replica or primary).',
      labelNames: ['target'] as const,
      registers: [],
    }),
    fallbacks: new Counter({
      name: 'keyplane_db_replica_fallback_total',
      help: 'Queries that could have read from a replica but went to the primary, by reason (down, lag, recent_write, listener).',
      labelNames: ['reason'] as const,
      registers: [],
    }),
    lag: new Gauge({
      name: 'keyplane_db_replica_lag_seconds',
      help: "Measured upper bound of each replica's staleness, at the last probe (replica: its position in DATABASE_REPLICA_URLS).",
      labelNames: ['replica'] as const,
      registers: [],
    }),
    up: new Gauge({
      name: 'keyplane_db_replica_up',
      help: 'Whether the last probe reached the replica as a standby (1) or not (0).',
      labelNames: ['replica'] as const,
      registers: [],
    }),
  };
}

/** The primary's WAL insert position, and when (performance.now(), taken before asking) it was read. */
export interface Sample {
  at: number;
  lsn: bigint;
}

/** A pg_lsn's text ("16/B374D848") as a number, for comparisons. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt('0x' + hi) << 32n) + BigInt('0x' + lo);
}

/**
 * The latest sample time whose position the replica has replayed (samples oldest first), or null:
 * the replica holds every commit made before that time.
 */
export function freshAsOf(samples: readonly Sample[], replayed: bigint): number | null {
  for (let i = samples.length - 1; i >= 0; i--) if (samples[i].lsn <= replayed) return samples[i].at;
  return null;
}
