/**
 * Google Gemini (Generative Language API): list models. Google reports a bad key as a 400 with a
 * machine-readable reason, so a bare 400 is not enough to call the key invalid.
 */
import { at, createValidator, fallback, isObject, modelIds, result, stringAt, type MappedResult } from './common';
import type { HeaderSource } from './http';
import type { KeyValidator } from './types';

function saysKeyInvalid(json: unknown): boolean {
  const details = at(json, 'error', 'details');
  if (Array.isArray(details) && details.some((d) => isObject(d) && d.reason === 'API_KEY_INVALID')) return true;
  // The message is only inspected, never forwarded.
  const message = stringAt(json, 'error', 'message') ?? '';
  return stringAt(json, 'error', 'status') === 'INVALID_ARGUMENT' && /api[\s_-]?key/i.test(message);
}

export function mapGeminiResponse(status: number, json: unknown, headers: HeaderSource = {}): MappedResult {
  if (status === 200) {
    if (!isObject(json)) return result('UNKNOWN', status, headers);
    const models = modelIds(json.models, (m) => {
      const name = isObject(m) ? m.name : undefined;
      return typeof name === 'string' ? name.replace(/^models\//, '') : undefined;
    });
    return result('VALID', status, headers, models);
  }
  if (status === 400 && saysKeyInvalid(json)) return result('INVALID', status, headers);
  if (status === 401) return result('INVALID', status, headers);
  if (status === 403) return result('VALID_RESTRICTED', status, headers);
  return fallback(status, headers);
}

export const geminiValidator: KeyValidator = createValidator({
  // The default page is 50 models; 1000 is the API's maximum.
  path: '/v1beta/models?pageSize=1000',
  map: mapGeminiResponse,
});
