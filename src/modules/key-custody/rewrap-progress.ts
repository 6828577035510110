/** The rewrap job's progress, stored in key_rewrap_runs.progress (jsonb). Ids and counts only. */

export const REWRAP_STATES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED'] as const;
export type RewrapState = (typeof REWRAP_STATES)[number];

export interface RewrapCounts {
  scanned: number;
  rewrapped: number;
  alreadyCurrent: number;
  failed: number;
  /** Changed by someone else between read and write (rotated, revoked, deleted): left as they are. */
  changed: number;
}

export interface KindProgress {
  /** Keyset cursor: the last primary key of the last committed page (text form). */
  after: string | null;
  done: boolean;
  /** By the KEK version the record had when scanned. */
  byVersion: Record<string, RewrapCounts>;
}

export type RewrapFailureReason = 'UNREADABLE' | 'KEY_VERSION_UNAVAILABLE';

export interface RewrapFailure {
  kind: string;
  id: string;
  kekVersion: number;
  reason: RewrapFailureReason;
}

export interface RewrapProgress {
  targetVersion: number | null;
  pages: number;
  kinds: Record<string, KindProgress>;
  /** The first MAX_LISTED_FAILURES; failuresTotal counts them all. */
  failures: RewrapFailure[];
  failuresTotal: number;
  /** Why a run ended FAILED (our own sentence, never an error's text). */
  reason?: string;
}

export const MAX_LISTED_FAILURES = 100;

export const emptyCounts = (): RewrapCounts => ({ scanned: 0, rewrapped: 0, alreadyCurrent: 0, failed: 0, changed: 0 });

export function emptyProgress(targetVersion: number | null = null): RewrapProgress {
  return { targetVersion, pages: 0, kinds: {}, failures: [], failuresTotal: 0 };
}

/** Reads stored progress defensively (jsonb written by an earlier release may lack fields). */
export function parseProgress(value: unknown): RewrapProgress {
  const p = (value && typeof value === 'object' ? value : {}) as Partial<RewrapProgress>;
  return {
    targetVersion: typeof p.targetVersion === 'number' ? p.targetVersion : null,
    pages: typeof p.pages === 'number' ? p.pages : 0,
    kinds: p.kinds && typeof p.kinds === 'object' ? p.kinds : {},
    failures: Array.isArray(p.failures) ? p.failures : [],
    failuresTotal: typeof p.failuresTotal === 'number' ? p.failuresTotal : 0,
    ...(typeof p.reason === 'string' ? { reason: p.reason } : {}),
  };
}

/** Totals over every kind and version (for audit rows, logs and the job's progress in Redis). */
export function totals(progress: RewrapProgress): RewrapCounts {
  const sum = emptyCounts();
  for (const k of Object.values(progress.kinds)) {
    for (const c of Object.values(k.byVersion)) for (const f of Object.keys(sum) as (keyof RewrapCounts)[]) sum[f] += c[f] ?? 0;
  }
  return sum;
}
