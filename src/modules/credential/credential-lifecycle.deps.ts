import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { KeyTestResult } from '../../providers/types';

/** One key version a validation job checked: matched on all three, so a forged job finds nothing. */
export interface CheckedVersion {
  tenantId: string;
  credentialId: string;
  version: number;
}

/** Recorded, and whether what a settings page shows (outcome, models) changed; null: not recorded. */
export type Confirmed = { changed: boolean } | null;

/**
 * The group commit of "the serving key still works" (ConfirmedOutcomes, one per process). Declared
 * here, not imported from it, so the lifecycle and the group commit share types without an import cycle.
 */
export interface OutcomeConfirmer {
  record(v: CheckedVersion, result: KeyTestResult): Promise<Confirmed>;
}

/** What recording a validation outcome uses; the worker's dependency bag satisfies it as it is. */
export interface OutcomeDeps {
  db: Pick<DataSource, 'transaction'>;
  confirmed: OutcomeConfirmer;
  config: Pick<Config, 'rotationGraceHours'>;
}

/** What the retire sweep uses. */
export interface RetireDeps {
  db: Pick<DataSource, 'transaction'>;
}
