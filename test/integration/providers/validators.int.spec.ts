import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { UNREACHABLE_MESSAGE } from '../../../src/providers/common';
import { testKey, validatorFor } from '../../../src/providers/registry';
import type { ApiShape, AuthScheme, KeyTestResult, ProviderEndpoint, ValidateOptions } from '../../../src/providers/types';
import { DEFAULT_MODELS, startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';

const KEY = 'sk-proj-Zq8vN3kLw0Yt7RbX2mHc5JdP9sFgA1uE';
const OPTS: ValidateOptions = { timeoutMs: 2000 };
const SCHEME: Record<ApiShape, AuthScheme> = { OPENAI: 'BEARER', ANTHROPIC: 'X_API_KEY', GEMINI: 'X_GOOG_API_KEY', OPENROUTER: 'BEARER' };
const SHAPES: ApiShape[] = ['OPENAI', 'ANTHROPIC', 'GEMINI', 'OPENROUTER'];

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

const endpoint = (apiShape: ApiShape, overrides: Partial<ProviderEndpoint> = {}): ProviderEndpoint => ({
  baseUrl: fake.baseUrl,
  apiShape,
  authScheme: SCHEME[apiShape],
  ...overrides,
});
const check = (shape: ApiShape, key = KEY, opts: ValidateOptions = OPTS): Promise<KeyTestResult> => testKey(endpoint(shape), key, opts);

describe.each(SHAPES)('%s against the fake provider', (shape) => {
  it('an allowed key is VALID with its models', async () => {
    fake.allow(KEY);
    const r = await check(shape);
    expect(r).toMatchObject({ outcome: 'VALID', httpStatus: 200, retryAfterSeconds: null });
    expect(r.models).toEqual(shape === 'OPENROUTER' ? [] : [...DEFAULT_MODELS].sort());
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('an unknown key is INVALID', async () => {
    const r = await check(shape);
    expect(r.outcome).toBe('INVALID');
    expect(r.httpStatus).toBe(shape === 'GEMINI' ? 400 : 401);
    expect(r.message).toMatch(/rejected the key as invalid/);
  });

  it('never leaks any 8-character piece of the key, even when the provider echoes it', async () => {
    const echoed = { error: { message: `Incorrect API key provided: ${KEY}`, type: KEY, code: 'invalid_api_key' } };
    fake.script(KEY, { status: 401, body: echoed });
    const results = [await check(shape), await check(shape)]; // scripted echo, then the default response
    fake.allow(KEY); // OpenRouter's 200 body carries a label echoing the key
    results.push(await check(shape));
    const text = JSON.stringify(results);
    for (let i = 0; i + 8 <= KEY.length; i++) expect(text).not.toContain(KEY.slice(i, i + 8));
  });

  it.each<[number, string]>([
    [403, 'VALID_RESTRICTED'],
    [500, 'PROVIDER_UNAVAILABLE'],
    [503, 'PROVIDER_UNAVAILABLE'],
    [404, 'UNKNOWN'],
  ])('scripted %i is %s', async (status, outcome) => {
    fake.script(KEY, fake.respond.json(status, { error: { message: 'x' } }));
    expect((await check(shape)).outcome).toBe(outcome);
  });

  it('429 is RATE_LIMITED with retry-after parsed', async () => {
    fake.script(KEY, fake.respond.rateLimited(17));
    expect(await check(shape)).toMatchObject({ outcome: 'RATE_LIMITED', httpStatus: 429, retryAfterSeconds: 17 });
  });

  it('a redirect is not followed', async () => {
    fake.allow(KEY);
    fake.script(KEY, fake.respond.redirect(`${fake.baseUrl}/elsewhere`));
    const r = await check(shape);
    expect(r).toMatchObject({ outcome: 'UNKNOWN', httpStatus: 302 });
    expect(fake.requests).toHaveLength(1);
  });

  it('sends the key only in the header its auth scheme names', async () => {
    await check(shape);
    const [req] = fake.requests;
    const h = req!.headers;
    if (SCHEME[shape] === 'BEARER') expect(h.authorization).toBe(`Bearer ${KEY}`);
    if (SCHEME[shape] === 'X_API_KEY') expect(h['x-api-key']).toBe(KEY);
    if (SCHEME[shape] === 'X_GOOG_API_KEY') expect(h['x-goog-api-key']).toBe(KEY);
    const carriers = ['authorization', 'x-api-key', 'x-goog-api-key'].filter((n) => h[n] !== undefined);
    expect(carriers).toHaveLength(1);
    expect(req!.query).not.toContain(KEY.slice(0, 8));
  });
});

describe('shape specifics', () => {
  it("the fake's default invalid-key answer does echo the key, so the leak test has teeth", async () => {
    const res = await fetch(`${fake.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(await res.text()).toContain(KEY.slice(0, 8));
  });

  it('OpenAI: 401 with another code is VALID_RESTRICTED, insufficient_quota is VALID_NO_QUOTA', async () => {
    fake.script(KEY, { status: 401, body: { error: { code: 'ip_not_authorized' } } }, fake.respond.noQuota());
    expect((await check('OPENAI')).outcome).toBe('VALID_RESTRICTED');
    expect((await check('OPENAI')).outcome).toBe('VALID_NO_QUOTA');
  });

  it('OpenAI: retry-after-ms and HTTP-date retry-after', async () => {
    const inTenS = new Date(Date.now() + 10_000).toUTCString();
    fake.script(KEY, { status: 429, headers: { 'retry-after-ms': '1500' } }, { status: 429, headers: { 'retry-after': inTenS } });
    expect((await check('OPENAI')).retryAfterSeconds).toBe(1.5);
    const s = (await check('OPENAI')).retryAfterSeconds;
    expect(s).toBeGreaterThanOrEqual(8);
    expect(s).toBeLessThanOrEqual(11);
  });

  it('Anthropic: sends anthropic-version; 402 and billing_error are VALID_NO_QUOTA; 529 is PROVIDER_UNAVAILABLE', async () => {
    fake.script(KEY, { status: 402 }, { status: 400, body: { type: 'error', error: { type: 'billing_error' } } }, { status: 529 });
    expect((await check('ANTHROPIC')).outcome).toBe('VALID_NO_QUOTA');
    expect((await check('ANTHROPIC')).outcome).toBe('VALID_NO_QUOTA');
    expect((await check('ANTHROPIC')).outcome).toBe('PROVIDER_UNAVAILABLE');
    expect(fake.requests.every((r) => r.headers['anthropic-version'] === '2023-06-01')).toBe(true);
  });

  it('OpenRouter: 402 or no credit left is VALID_NO_QUOTA', async () => {
    fake.script(KEY, { status: 402 }, { status: 200, body: { data: { limit: 5, limit_remaining: 0 } } });
    expect((await check('OPENROUTER')).outcome).toBe('VALID_NO_QUOTA');
    expect((await check('OPENROUTER')).outcome).toBe('VALID_NO_QUOTA');
  });

  it('the scheme picks the header while the shape picks the path', async () => {
    fake.allow(KEY, ['m1']);
    const r = await testKey(endpoint('OPENAI', { authScheme: 'X_GOOG_API_KEY', baseUrl: `${fake.baseUrl}/` }), KEY, OPTS);
    expect(r).toMatchObject({ outcome: 'VALID', models: ['m1'] });
    expect(fake.requests[0]).toMatchObject({ path: '/v1/models', headers: { 'x-goog-api-key': KEY } });
    expect(fake.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('a 200 that is not JSON (a web page at the base URL) is UNKNOWN, as is an oversized body', async () => {
    fake.scriptAll({ status: 200, body: '<html>hello</html>' }, { status: 200, body: { data: [], pad: 'x'.repeat(1_100_000) } });
    expect((await check('OPENAI')).outcome).toBe('UNKNOWN');
    expect((await check('OPENAI')).outcome).toBe('UNKNOWN');
  });

  it('a key that cannot be a header value is INVALID without any request', async () => {
    const r = await check('OPENAI', `${KEY}\r\nx-evil: 1`);
    expect(r).toMatchObject({ outcome: 'INVALID', httpStatus: null });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('transport failures', () => {
  it('a provider that never answers times out as PROVIDER_UNAVAILABLE', async () => {
    fake.script(KEY, fake.respond.hang());
    const r = await check('OPENAI', KEY, { timeoutMs: 300 });
    expect(r).toMatchObject({ outcome: 'PROVIDER_UNAVAILABLE', httpStatus: null, models: [] });
    expect(r.message).toBe(UNREACHABLE_MESSAGE);
    expect(r.latencyMs).toBeGreaterThanOrEqual(250);
    expect(r.latencyMs).toBeLessThan(2000);
  });

  it('the deadline also covers a body that never finishes', async () => {
    fake.script(KEY, { status: 200, body: { data: [{ id: 'a' }] }, stallBody: true });
    const r = await check('ANTHROPIC', KEY, { timeoutMs: 300 });
    expect(r).toMatchObject({ outcome: 'PROVIDER_UNAVAILABLE', httpStatus: null });
  });

  it('connection refused is PROVIDER_UNAVAILABLE', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const r = await testKey(endpoint('GEMINI', { baseUrl: `http://127.0.0.1:${port}` }), KEY, { timeoutMs: 300 });
    // The same sentence as a hang, and no sooner: a refused port must not look different.
    expect(r).toMatchObject({ outcome: 'PROVIDER_UNAVAILABLE', httpStatus: null, message: UNREACHABLE_MESSAGE });
    expect(r.latencyMs).toBeGreaterThanOrEqual(250);
  });

  it('an outer abort is rethrown as AbortError', async () => {
    fake.script(KEY, fake.respond.hang());
    const ac = new AbortController();
    const pending = validatorFor('OPENAI')(endpoint('OPENAI'), KEY, { timeoutMs: 5000, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('an already aborted signal sends nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(check('OPENROUTER', KEY, { timeoutMs: 1000, signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(fake.requests).toHaveLength(0);
  });

  it('an unknown shape from the database is refused', () => {
    expect(() => validatorFor('SOAP' as ApiShape)).toThrow(/No key validator/);
  });
});
