/**
 * OpenAI and every OpenAI-compatible API (Groq, Mistral, xAI, custom gateways): list models.
 * Listing is free and needs no model name, so it checks the key without spending tokens.
 */
import { createValidator, fallback, isObject, modelIds, result, stringAt, type MappedResult } from './common';
import type { HeaderSource } from './http';
import type { KeyValidator } from './types';

export function mapOpenAIResponse(status: number, json: unknown, headers: HeaderSource = {}): MappedResult {
  const code = stringAt(json, 'error', 'code');
  const type = stringAt(json, 'error', 'type');

  // A non-JSON 200 is a web page or a proxy at the base URL, not proof that the key works.
  if (status === 200) {
    if (!isObject(json)) return result('UNKNOWN', status, headers);
    return result(
      'VALID',
      status,
      headers,
      modelIds(json.data, (m) => (isObject(m) ? m.id : undefined)),
    );
  }
  if (status === 401) {
    // Only invalid_api_key means the key itself is wrong; other coded 401s are org / IP rules on a live key.
    if (code !== null && code !== 'invalid_api_key') return result('VALID_RESTRICTED', status, headers);
    return result('INVALID', status, headers);
  }
  if (status === 403) return result('VALID_RESTRICTED', status, headers);
  if (status === 429 && (code === 'insufficient_quota' || type === 'insufficient_quota')) {
    return result('VALID_NO_QUOTA', status, headers);
  }
  return fallback(status, headers);
}

export const openAIValidator: KeyValidator = createValidator({ path: '/v1/models', map: mapOpenAIResponse });
