/**
 * Anthropic: list models. The version header is mandatory; without it every key gets a 400.
 */
import { createValidator, fallback, isObject, modelIds, result, stringAt, type MappedResult } from './common';
import type { HeaderSource } from './http';
import type { KeyValidator } from './types';

export const ANTHROPIC_VERSION = '2023-06-01';

export function mapAnthropicResponse(status: number, json: unknown, headers: HeaderSource = {}): MappedResult {
  const type = stringAt(json, 'error', 'type');

  if (status === 200) {
    if (!isObject(json)) return result('UNKNOWN', status, headers);
    return result(
      'VALID',
      status,
      headers,
      modelIds(json.data, (m) => (isObject(m) ? m.id : undefined)),
    );
  }
  if (status === 401) return result('INVALID', status, headers);
  if (status === 402 || type === 'billing_error') return result('VALID_NO_QUOTA', status, headers);
  if (status === 403) return result('VALID_RESTRICTED', status, headers);
  if (type === 'overloaded_error') return result('PROVIDER_UNAVAILABLE', status, headers);
  return fallback(status, headers);
}

export const anthropicValidator: KeyValidator = createValidator({
  // The default page is 20 models; ask for the maximum so the list we store is complete.
  path: '/v1/models?limit=1000',
  extraHeaders: { 'anthropic-version': ANTHROPIC_VERSION },
  map: mapAnthropicResponse,
});
