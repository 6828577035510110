/**
 * Pieces every shape shares: our own wording for outcomes, safe reads of untrusted JSON, and the
 * transport-to-outcome runner. Messages are built only from the outcome and the status code so a
 * provider body (which may echo part of the key) can never reach a result.
 */
import { httpGet, parseRetryAfter, type HeaderSource } from './http';
import type { AuthScheme, KeyTestOutcome, KeyTestResult, KeyValidator } from './types';
import { boundModelIds, NO_MODELS, type ModelList } from './untrusted';

export { MAX_MODELS } from './untrusted';

export type MappedResult = Omit<KeyTestResult, 'latencyMs'>;
export type ResponseMapper = (status: number, json: unknown, headers?: HeaderSource) => MappedResult;

const SENTENCES: Record<KeyTestOutcome, string> = {
  VALID: 'The provider accepted the key',
  INVALID: 'The provider rejected the key as invalid',
  VALID_NO_QUOTA: 'The key is valid but the account has no remaining quota or credit',
  VALID_RESTRICTED: 'The key is valid but restricted (organization, project, region, IP or scope rules)',
  RATE_LIMITED: 'The provider rate-limited the check',
  PROVIDER_UNAVAILABLE: 'The provider is unavailable',
  UNKNOWN: 'The provider returned an unexpected response',
};

export function result(outcome: KeyTestOutcome, httpStatus: number, headers: HeaderSource = {}, models: ModelList = NO_MODELS): MappedResult {
  const retryAfterSeconds = parseRetryAfter(headers);
  let sentence = SENTENCES[outcome];
  if (outcome === 'RATE_LIMITED' && retryAfterSeconds !== null) sentence += `; retry after ${retryAfterSeconds} s`;
  if (httpStatus >= 300 && httpStatus < 400) sentence = 'The provider answered with a redirect, which is never followed';
  return {
    outcome,
    models: [...models.ids], // never the shared empty list of NO_MODELS
    modelsDropped: models.dropped,
    message: `${sentence} (HTTP ${httpStatus}).`,
    httpStatus,
    retryAfterSeconds,
  };
}

/** The branches every shape agrees on; shape mappers handle their specifics first. */
export function fallback(status: number, headers: HeaderSource = {}): MappedResult {
  if (status === 429) return result('RATE_LIMITED', status, headers);
  if (status >= 500 && status <= 599) return result('PROVIDER_UNAVAILABLE', status, headers);
  return result('UNKNOWN', status, headers);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a nested property of untrusted JSON without trusting its shape. */
export function at(json: unknown, ...path: string[]): unknown {
  let cur = json;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

export function stringAt(json: unknown, ...path: string[]): string | null {
  const v = at(json, ...path);
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The ids picked from a listed array, bounded (untrusted.ts); what does not fit is counted, not kept. */
export function modelIds(list: unknown, pick: (item: unknown) => unknown): ModelList {
  return Array.isArray(list) ? boundModelIds(list.map(pick)) : NO_MODELS;
}

export function authHeader(scheme: AuthScheme, secret: string): Record<string, string> {
  switch (scheme) {
    case 'BEARER':
      return { authorization: `Bearer ${secret}` };
    case 'X_API_KEY':
      return { 'x-api-key': secret };
    case 'X_GOOG_API_KEY':
      return { 'x-goog-api-key': secret };
  }
}

export interface ShapeSpec {
  /** Path and query appended to the base URL. */
  path: string;
  extraHeaders?: Record<string, string>;
  map: ResponseMapper;
}

/**
 * Builds the KeyValidator for one shape. The key only ever goes into a request header; inputs
 * fetch would reject (and quote back in its error) are refused before any request is made.
 */
const INVALID_BASE_URL = 'The provider base URL is not a valid http(s) URL.';
/** One sentence for every cause of "no answer", so a key check cannot map the internal network. */
export const UNREACHABLE_MESSAGE = 'Could not reach the provider (UNREACHABLE).';

export function createValidator(spec: ShapeSpec): KeyValidator {
  return async (endpoint, secret, options) => {
    // Printable ASCII without spaces: anything else cannot be a provider key or a legal header value.
    if (!/^[\x21-\x7e]+$/.test(secret)) {
      return local('INVALID', 'The key is empty or contains characters that cannot be sent to a provider.');
    }
    const url = buildUrl(endpoint.baseUrl, spec.path);
    if (url === null) return local('UNKNOWN', INVALID_BASE_URL);

    const headers = { accept: 'application/json', ...spec.extraHeaders, ...authHeader(endpoint.authScheme, secret) };
    const res = await httpGet(url, headers, options);
    if (res.kind === 'invalid_url') return { ...local('UNKNOWN', INVALID_BASE_URL), latencyMs: res.latencyMs };
    if (res.kind !== 'response') return { ...local('PROVIDER_UNAVAILABLE', UNREACHABLE_MESSAGE), latencyMs: res.latencyMs };
    return { ...spec.map(res.status, res.json, res.headers), latencyMs: res.latencyMs };
  };
}

function local(outcome: KeyTestOutcome, message: string): KeyTestResult {
  return { outcome, models: [], modelsDropped: 0, message, httpStatus: null, retryAfterSeconds: null, latencyMs: 0 };
}

export function buildUrl(baseUrl: string, path: string): string | null {
  const trimmed = baseUrl.trim().replace(/\/+$/, '');
  try {
    const url = new URL(trimmed + path);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
  } catch {
    return null;
  }
}
