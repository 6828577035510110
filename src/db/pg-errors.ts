import { QueryFailedError } from 'typeorm';

/** True when the error is a unique violation of the named constraint or index. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driver = error.driverError as { code?: string; constraint?: string };
  return driver.code === '23505' && driver.constraint === constraint;
}

const AUDIT_TABLES = new Set(['audit_events', 'audit_chain_heads']);

/**
 * True when a statement failed in writing the audit trail: on its tables, or inside the chain
 * trigger (PostgreSQL's structured `table` and `where` fields, not the message text). The
 * transaction it ran in is rolled back, so nothing changed: callers answer a retryable error.
 */
export function isAuditWriteFailure(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driver = error.driverError as { table?: string; where?: string };
  return (driver.table !== undefined && AUDIT_TABLES.has(driver.table)) || /\baudit_events_chain\(\)/.test(driver.where ?? '');
}
