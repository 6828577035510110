import type { OutboundClient } from '../outbound';

/**
 * The typed outcome of checking a key against its provider. Never a boolean: a key can work
 * and still be useless (no quota), or work only from some places (restricted).
 */
export const KEY_TEST_OUTCOMES = [
  'VALID',
  'INVALID',
  'VALID_NO_QUOTA',
  'VALID_RESTRICTED',
  'RATE_LIMITED',
  'PROVIDER_UNAVAILABLE',
  'UNKNOWN',
] as const;
export type KeyTestOutcome = (typeof KEY_TEST_OUTCOMES)[number];

/** How a provider's HTTP API is shaped; picks the validator. Stored on the provider row. */
export const API_SHAPES = ['OPENAI', 'ANTHROPIC', 'GEMINI', 'OPENROUTER'] as const;
export type ApiShape = (typeof API_SHAPES)[number];

/** How the key is sent. Stored on the provider row. */
export const AUTH_SCHEMES = ['BEARER', 'X_API_KEY', 'X_GOOG_API_KEY'] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

export interface ProviderEndpoint {
  /** e.g. https://api.openai.com (no trailing slash needed; no path beyond the API root) */
  baseUrl: string;
  authScheme: AuthScheme;
  apiShape: ApiShape;
}

export interface ValidateOptions {
  /** Hard limit for the whole request, including reading the body. */
  timeoutMs: number;
  /** Optional outer cancellation (shutdown). */
  signal?: AbortSignal;
  /**
   * The guarded HTTP client (`outboundFor(config)`): applies the outbound policy (destinations,
   * addresses; README "Outbound requests"). Production callers always pass it.
   */
  outbound?: OutboundClient;
  /** Whose check this is (operator logs and security events only). */
  tenantId?: string | null;
}

export interface KeyTestResult {
  outcome: KeyTestOutcome;
  /** Model ids when the provider listed them (VALID and sometimes VALID_RESTRICTED); otherwise empty. */
  models: string[];
  /**
   * Entries of the provider's list that were not kept: malformed ids, ids over the limit, and ids
   * holding part of the key (src/providers/untrusted.ts). Always set on results from testKey().
   */
  modelsDropped?: number;
  /** Our own short human sentence. Never the provider's body, never any part of the key. */
  message: string;
  /** HTTP status from the provider, or null for a timeout / network failure. */
  httpStatus: number | null;
  /** Seconds to wait, parsed from retry-after (or retry-after-ms), when the provider sent one. */
  retryAfterSeconds: number | null;
  latencyMs: number;
}

/** One validator per API shape. */
export type KeyValidator = (endpoint: ProviderEndpoint, secret: string, options: ValidateOptions) => Promise<KeyTestResult>;
