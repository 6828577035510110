import { mapAnthropicResponse } from '../../../src/providers/anthropic';
import { MAX_MODELS, type MappedResult, type ResponseMapper } from '../../../src/providers/common';
import { mapGeminiResponse } from '../../../src/providers/gemini';
import { parseRetryAfter } from '../../../src/providers/http';
import { mapOpenAIResponse } from '../../../src/providers/openai';
import { mapOpenRouterResponse } from '../../../src/providers/openrouter';
import type { KeyTestOutcome } from '../../../src/providers/types';

type Row = [label: string, status: number, json: unknown, outcome: KeyTestOutcome];

const err = (error: Record<string, unknown>) => ({ error });
const geminiInvalid = err({ code: 400, status: 'INVALID_ARGUMENT', message: 'x', details: [{ reason: 'API_KEY_INVALID' }] });

const tables: Array<[name: string, map: ResponseMapper, rows: Row[]]> = [
  [
    'OpenAI',
    mapOpenAIResponse,
    [
      ['200 list', 200, { data: [{ id: 'gpt-4o' }] }, 'VALID'],
      ['200 non-JSON', 200, null, 'UNKNOWN'],
      ['401 invalid_api_key', 401, err({ code: 'invalid_api_key' }), 'INVALID'],
      ['401 other code (IP / org rule)', 401, err({ code: 'ip_not_authorized' }), 'VALID_RESTRICTED'],
      ['401 no code', 401, err({ code: null, message: 'no key' }), 'INVALID'],
      ['401 no body', 401, null, 'INVALID'],
      ['403', 403, err({ code: 'unsupported_country_region_territory' }), 'VALID_RESTRICTED'],
      ['429 code insufficient_quota', 429, err({ code: 'insufficient_quota' }), 'VALID_NO_QUOTA'],
      ['429 type insufficient_quota', 429, err({ type: 'insufficient_quota' }), 'VALID_NO_QUOTA'],
      ['429 rate limit', 429, err({ code: 'rate_limit_exceeded' }), 'RATE_LIMITED'],
      ['500', 500, null, 'PROVIDER_UNAVAILABLE'],
      ['503', 503, null, 'PROVIDER_UNAVAILABLE'],
      ['529', 529, null, 'PROVIDER_UNAVAILABLE'],
      ['302', 302, null, 'UNKNOWN'],
      ['404', 404, err({ code: 'not_found' }), 'UNKNOWN'],
      ['400', 400, null, 'UNKNOWN'],
    ],
  ],
  [
    'Anthropic',
    mapAnthropicResponse,
    [
      ['200 list', 200, { data: [{ id: 'claude-x' }], has_more: false }, 'VALID'],
      ['200 non-JSON', 200, 'html', 'UNKNOWN'],
      ['401 authentication_error', 401, { type: 'error', error: { type: 'authentication_error' } }, 'INVALID'],
      ['403 permission_error', 403, { type: 'error', error: { type: 'permission_error' } }, 'VALID_RESTRICTED'],
      ['402', 402, null, 'VALID_NO_QUOTA'],
      ['400 billing_error', 400, { type: 'error', error: { type: 'billing_error' } }, 'VALID_NO_QUOTA'],
      ['429 rate_limit_error', 429, { type: 'error', error: { type: 'rate_limit_error' } }, 'RATE_LIMITED'],
      ['500', 500, { type: 'error', error: { type: 'api_error' } }, 'PROVIDER_UNAVAILABLE'],
      ['529 overloaded_error', 529, { type: 'error', error: { type: 'overloaded_error' } }, 'PROVIDER_UNAVAILABLE'],
      ['400 invalid_request_error', 400, { type: 'error', error: { type: 'invalid_request_error' } }, 'UNKNOWN'],
      ['404', 404, null, 'UNKNOWN'],
    ],
  ],
  [
    'Gemini',
    mapGeminiResponse,
    [
      ['200 list', 200, { models: [{ name: 'models/gemini-pro' }] }, 'VALID'],
      ['200 empty object', 200, {}, 'VALID'],
      ['200 non-JSON', 200, null, 'UNKNOWN'],
      ['400 API_KEY_INVALID', 400, geminiInvalid, 'INVALID'],
      ['400 INVALID_ARGUMENT about the key', 400, err({ status: 'INVALID_ARGUMENT', message: 'API key expired.' }), 'INVALID'],
      ['400 INVALID_ARGUMENT about something else', 400, err({ status: 'INVALID_ARGUMENT', message: 'bad page size' }), 'UNKNOWN'],
      ['400 no body', 400, null, 'UNKNOWN'],
      ['401', 401, null, 'INVALID'],
      ['403', 403, err({ status: 'PERMISSION_DENIED' }), 'VALID_RESTRICTED'],
      ['429', 429, err({ status: 'RESOURCE_EXHAUSTED' }), 'RATE_LIMITED'],
      ['500', 500, null, 'PROVIDER_UNAVAILABLE'],
      ['503', 503, null, 'PROVIDER_UNAVAILABLE'],
      ['404', 404, null, 'UNKNOWN'],
    ],
  ],
  [
    'OpenRouter',
    mapOpenRouterResponse,
    [
      ['200 no limit', 200, { data: { limit: null, limit_remaining: null } }, 'VALID'],
      ['200 credit left', 200, { data: { limit: 10, limit_remaining: 2.5 } }, 'VALID'],
      ['200 limit_remaining 0', 200, { data: { limit: 10, limit_remaining: 0 } }, 'VALID_NO_QUOTA'],
      ['200 limit_remaining negative', 200, { data: { limit: 10, limit_remaining: -1 } }, 'VALID_NO_QUOTA'],
      ['200 non-JSON', 200, null, 'UNKNOWN'],
      ['401', 401, err({ code: 401 }), 'INVALID'],
      ['402', 402, null, 'VALID_NO_QUOTA'],
      ['403', 403, null, 'VALID_RESTRICTED'],
      ['429', 429, null, 'RATE_LIMITED'],
      ['502', 502, null, 'PROVIDER_UNAVAILABLE'],
      ['404', 404, null, 'UNKNOWN'],
    ],
  ],
];

describe.each(tables)('%s mapping', (_name, map, rows) => {
  it.each(rows)('%s -> %s', (_label, status, json, outcome) => {
    const r: MappedResult = map(status, json, {});
    expect(r.outcome).toBe(outcome);
    expect(r.httpStatus).toBe(status);
    expect(r.message).toMatch(new RegExp(`\\(HTTP ${status}\\)\\.$`));
    if (outcome !== 'VALID') expect(r.models).toEqual([]);
  });

  it('never copies the provider message into ours', () => {
    const secret = 'sk-proj-LEAKLEAKLEAK1234';
    for (const status of [200, 400, 401, 402, 403, 429, 500]) {
      const r = map(status, err({ message: `bad key ${secret}`, type: secret, code: secret }), {});
      expect(JSON.stringify(r)).not.toContain('LEAKLEAK');
    }
  });

  it('carries retry-after on a 429', () => {
    const r = map(429, null, { 'Retry-After': '12' });
    expect(r.retryAfterSeconds).toBe(12);
    expect(r.message).toContain('retry after 12 s');
  });
});

describe('model lists', () => {
  it('OpenAI ids are sorted, de-duplicated and junk dropped', () => {
    const json = { data: [{ id: 'b' }, { id: 'a' }, { id: 'b' }, { id: 7 }, null, { id: '' }] };
    expect(mapOpenAIResponse(200, json).models).toEqual(['a', 'b']);
  });

  it(`caps at ${MAX_MODELS}`, () => {
    const data = Array.from({ length: MAX_MODELS + 50 }, (_, i) => ({ id: `m-${String(i).padStart(4, '0')}` }));
    const models = mapAnthropicResponse(200, { data }).models;
    expect(models).toHaveLength(MAX_MODELS);
    expect(models[0]).toBe('m-0000');
  });

  it('Gemini names lose the models/ prefix', () => {
    const json = { models: [{ name: 'models/gemini-2.0-flash' }, { name: 'tunedModels/x' }] };
    expect(mapGeminiResponse(200, json).models).toEqual(['gemini-2.0-flash', 'tunedModels/x']);
  });

  it('OpenRouter lists none', () => {
    expect(mapOpenRouterResponse(200, { data: { label: 'x' } }).models).toEqual([]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it.each<[string, Record<string, string>, number | null]>([
    ['absent', {}, null],
    ['seconds', { 'retry-after': '30' }, 30],
    ['fractional seconds', { 'retry-after': '1.5' }, 1.5],
    ['HTTP date in the future', { 'retry-after': 'Wed, 01 Jan 2025 00:00:20 GMT' }, 20],
    ['HTTP date in the past', { 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }, 0],
    ['garbage', { 'retry-after': 'soon' }, null],
    ['negative', { 'retry-after': '-5' }, null],
    ['retry-after-ms', { 'retry-after-ms': '1500' }, 1.5],
    ['retry-after-ms wins', { 'retry-after-ms': '250', 'retry-after': '9' }, 0.25],
    ['bad retry-after-ms falls back', { 'retry-after-ms': 'x', 'retry-after': '9' }, 9],
  ])('%s', (_label, headers, expected) => {
    expect(parseRetryAfter(headers, now)).toBe(expected);
    expect(parseRetryAfter(new Headers(headers), now)).toBe(expected);
  });
});
