/**
 * OpenRouter: the key endpoint describes the key itself (credit limit and what is left), which
 * tells us about quota; it lists no models.
 */
import { at, createValidator, fallback, isObject, result, type MappedResult } from './common';
import type { HeaderSource } from './http';
import type { KeyValidator } from './types';

export function mapOpenRouterResponse(status: number, json: unknown, headers: HeaderSource = {}): MappedResult {
  if (status === 200) {
    // The body includes a label that echoes part of the key: read only the numeric field we need.
    if (!isObject(json)) return result('UNKNOWN', status, headers);
    const remaining = at(json, 'data', 'limit_remaining');
    if (typeof remaining === 'number' && remaining <= 0) return result('VALID_NO_QUOTA', status, headers);
    return result('VALID', status, headers);
  }
  if (status === 401) return result('INVALID', status, headers);
  if (status === 402) return result('VALID_NO_QUOTA', status, headers);
  if (status === 403) return result('VALID_RESTRICTED', status, headers);
  return fallback(status, headers);
}

export const openRouterValidator: KeyValidator = createValidator({ path: '/api/v1/key', map: mapOpenRouterResponse });
