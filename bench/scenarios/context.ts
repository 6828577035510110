import type { Pool } from 'pg';
import type { Options } from '../harness/env';
import type { Server } from '../harness/keyplane';
import type { Figure } from '../harness/report';

/** What every scenario gets: options, a pool on the bench database, and the API under test. */
export interface Ctx {
  o: Options;
  log: (message: string) => void;
  pool: Pool;
  api: Server;
  adminToken: string;
  openai: { id: string; prefixes: string[] };
}

export interface Scenario {
  id: string;
  /** Only with --full (million-row data). */
  full?: boolean;
  run: (ctx: Ctx) => Promise<Figure[]>;
}

/** A figure for something that cannot be measured yet, with the reason instead of a number. */
export function notMeasurable(id: string, title: string, note: string, targets: string[]): Figure {
  return { id, title, status: 'not-measurable', note, unit: '', targets: targets.map((label) => ({ label, met: null })) };
}
