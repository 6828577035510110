/**
 * The one error vocabulary. Services throw DomainError; src/graphql/errors.ts maps it to a
 * `userErrors` entry (business failures in mutations) or to `extensions.code` (everything else).
 * Messages are ours and fixed: they never carry a submitted secret or another tenant's data.
 */
export const USER_ERROR_CODES = [
  'NOT_FOUND',
  'INVALID_INPUT',
  'SECRET_EMPTY',
  'SECRET_MULTILINE',
  'SECRET_INVALID_CHARACTERS',
  'SECRET_TOO_LONG',
  'KEY_FORMAT_MISMATCH',
  'KEY_BELONGS_TO_OTHER_PROVIDER',
  'UNKNOWN_PROVIDER',
  'PROVIDER_DISABLED',
  'NAME_INVALID',
  'NAME_TOO_LONG',
  'LABEL_INVALID',
  'LABEL_TOO_LONG',
  'LABEL_TAKEN',
  'SLUG_INVALID',
  'SLUG_TAKEN',
  'URL_INVALID',
  'URL_NOT_ALLOWED',
  'PATTERN_INVALID',
  'OUT_OF_RANGE',
  'ATTACHMENT_LIMIT_REACHED',
  'ALREADY_ATTACHED',
  'NOT_ATTACHED',
  'CREDENTIAL_REVOKED',
  'ALREADY_REVOKED',
  'CONFIRMATION_MISMATCH',
  'DELIVERY_NOT_DEAD',
  'ALERT_RESOLVED',
  'BUILT_IN_PROVIDER_PINNED',
  'HOST_CHANGED',
  'HOST_NOT_CONFIRMED',
  /** An idempotencyKey that is empty, too long or holds control characters. */
  'IDEMPOTENCY_KEY_INVALID',
  /** The idempotencyKey was already used by this tenant, within its 24 hours, for a different request. */
  'IDEMPOTENCY_KEY_REUSED',
  /** A request with the same idempotencyKey is still being processed: retry shortly. */
  'IDEMPOTENCY_KEY_IN_USE',
  /** A key rewrap is already queued or running; its job id is in the message. */
  'KEY_REWRAP_RUNNING',
  /** The key version cannot be retired: it is current, or records are still sealed under it. */
  'KEY_VERSION_IN_USE',
] as const;
export type UserErrorCode = (typeof USER_ERROR_CODES)[number];

export interface UserErrorShape {
  /** Path into the mutation's arguments, e.g. ["input", "secret"]. */
  field: string[] | null;
  message: string;
  code: UserErrorCode;
}

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: UserErrorCode,
    message: string,
    readonly field: string[] | null = null,
  ) {
    super(message);
  }
}

/** Several input problems reported at once, so a form can mark every bad field in one round trip. */
export class DomainErrors extends Error {
  override name = 'DomainErrors';
  constructor(readonly errors: UserErrorShape[]) {
    super(errors.map((e) => e.message).join('; '));
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, field: string[] | null = null) {
    // The same sentence whether the id is random or belongs to another tenant.
    super('NOT_FOUND', `${what} not found.`, field);
  }
}

/** Raised for authentication and authorization failures; never becomes a userErrors entry. */
export class AccessError extends Error {
  override name = 'AccessError';
  constructor(
    readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Too many key checks for this tenant or token (src/modules/key-check). Not a userErrors entry:
 * the input may be fine; the caller must wait. GraphQL code RATE_LIMITED, extensions.retryAfter.
 */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(readonly retryAfterSeconds: number) {
    super('Too many key checks. Try again after retryAfter seconds.');
  }
}

/**
 * The operation needs something this process cannot reach yet, e.g. a record sealed under a KEK
 * version missing from its keyring (a two-phase key change half rolled out). Retryable: GraphQL
 * code SERVICE_UNAVAILABLE with extensions.retryAfter; HTTP 503 with Retry-After.
 */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds = 30,
  ) {
    super(message);
  }
}

/** How long a client is told to wait while PostgreSQL is unreachable (extensions.retryAfter, Retry-After). */
export const DATABASE_RETRY_SECONDS = 5;
export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unreachable. Try again after retryAfter seconds.';

/**
 * PostgreSQL is unreachable (refused, reset, timed out, shutting down). A fixed message on purpose:
 * the driver's own text names the database host and port, which must reach no client, no job's
 * failure reason and no tenant. Retryable (src/db/availability.ts tells it from other errors).
 */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  override name = 'DatabaseUnavailableError';
  constructor() {
    super(DATABASE_UNAVAILABLE_MESSAGE, DATABASE_RETRY_SECONDS);
  }
}

/**
 * The audit row of a change could not be written (its chain locked too long, a deadlock, the chain
 * head damaged): the change was rolled back with it. Retryable, like any ServiceUnavailableError.
 */
export class AuditWriteError extends ServiceUnavailableError {
  override name = 'AuditWriteError';
  constructor(override readonly cause: unknown) {
    super('The audit trail could not be written, so nothing was changed. Try again shortly.', 5);
  }
}

/** A malformed request argument outside mutation inputs (bad cursor, page too large). */
export class BadRequestError extends Error {
  override name = 'BadRequestError';
}

export function collect(errors: (UserErrorShape | null | undefined)[]): void {
  const found = errors.filter((e): e is UserErrorShape => !!e);
  if (found.length > 0) throw new DomainErrors(found);
}
