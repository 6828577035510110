/**
 * Telling "PostgreSQL is unreachable" from every other error, by codes only (never by message
 * text): SQLSTATE class 08 (connection exception), 57P01-57P03 (admin or crash shutdown, cannot
 * connect now), and the socket errors of a connection that is refused, reset or times out. The pg
 * driver's few code-less errors ("Connection terminated unexpectedly") are told apart by asking
 * the database itself (DatabaseProbe in workers/database-gate.ts) where a caller can wait for it.
 */
const UNREACHABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;
const UNREACHABLE_SOCKET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The codes an error (and what it wraps: TypeORM's driverError, cause, AggregateError's errors) carries. */
function codesOf(error: unknown, depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 4) return [];
  const e = error as { code?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof e.code === 'string' ? [e.code] : [];
  const inner = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  return [...own, ...inner.flatMap((i) => codesOf(i, depth + 1))];
}

/** A SQLSTATE that means this session lost, or could not get, its database. */
export function hasUnreachableSqlState(error: unknown): boolean {
  return codesOf(error).some((code) => UNREACHABLE_SQLSTATE.test(code));
}

/** A socket error code: the database, or another store, could not be reached. */
export function hasUnreachableSocketCode(error: unknown): boolean {
  return socketCodeOf(error) !== null;
}

export function socketCodeOf(error: unknown): string | null {
  return codesOf(error).find((code) => UNREACHABLE_SOCKET.has(code)) ?? null;
}

/**
 * Whether an error from a database call means PostgreSQL could not be reached. Only for errors
 * that come from PostgreSQL calls: a socket code alone could be another service's (Redis).
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  return hasUnreachableSqlState(error) || hasUnreachableSocketCode(error);
}
