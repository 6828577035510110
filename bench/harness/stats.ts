/** Small statistics over repeated runs: the median is the figure, min-max the spread. */

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** One measured run of one side (Keyplane or its baseline). */
export interface RunResult {
  /** Operations per second that succeeded (requests, jobs). */
  rate: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  /** Operations that succeeded, and those that failed (non-2xx, error bodies, failed jobs). */
  ok: number;
  failed: number;
  /** Peak resident set size of the process under test during the run, in MB (null: not measurable). */
  peakRssMb: number | null;
}

export interface Summary {
  runs: RunResult[];
  rate: number;
  rateMin: number;
  rateMax: number;
  p50: number;
  p99: number;
  peakRssMb: number | null;
  failed: number;
}

export function summarize(runs: RunResult[]): Summary {
  const rates = runs.map((r) => r.rate);
  const rss = runs.map((r) => r.peakRssMb).filter((v): v is number => v !== null);
  return {
    runs,
    rate: median(rates),
    rateMin: Math.min(...rates),
    rateMax: Math.max(...rates),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    peakRssMb: rss.length ? Math.max(...rss) : null,
    failed: runs.reduce((n, r) => n + r.failed, 0),
  };
}
