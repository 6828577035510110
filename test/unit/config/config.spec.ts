import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config';

const SECRETS = {
  KEYPLANE_ADMIN_TOKEN: 'admin-token-value-that-is-long-enough-0001',
  KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  KEYPLANE_FINGERPRINT_KEY: 'fingerprint-pepper-value-long-enough-0001',
};

describe('loadConfig', () => {
  it('refuses to start in production without secrets, naming each variable and no value', () => {
    const env = { NODE_ENV: 'production', KEYPLANE_ADMIN_TOKEN: SECRETS.KEYPLANE_ADMIN_TOKEN };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('KEYPLANE_MASTER_KEYS');
      expect(message).toContain('KEYPLANE_FINGERPRINT_KEY');
      expect(message).not.toContain('KEYPLANE_ADMIN_TOKEN');
      expect(message).not.toContain(SECRETS.KEYPLANE_ADMIN_TOKEN);
    }
  });

  it('names a malformed variable without printing what it held', () => {
    const bad = 'short-secret-value';
    const env = { ...SECRETS, NODE_ENV: 'production', KEYPLANE_ADMIN_TOKEN: bad, PORT: 'not-a-port' };
    expect(() => loadConfig(env)).toThrow(/KEYPLANE_ADMIN_TOKEN/);
    expect(() => loadConfig(env)).toThrow(/PORT/);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message).not.toContain(bad);
    }
  });

  it('outside production generates missing secrets once into a private local file, with a warning', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kp-config-')), 'dev-secrets.json');
    const warnings: string[] = [];
    const first = loadConfig({ NODE_ENV: 'development', KEYPLANE_LOCAL_SECRETS_FILE: file }, (m) => warnings.push(m));
    const second = loadConfig({ NODE_ENV: 'development', KEYPLANE_LOCAL_SECRETS_FILE: file }, () => undefined);
    expect(second.masterKeys).toBe(first.masterKeys);
    expect(second.adminToken).toBe(first.adminToken);
    expect(first.masterKeys).toMatch(/^1:[A-Za-z0-9+/]{43}=$/);
    expect(warnings.join('\n')).toContain('KEYPLANE_MASTER_KEYS');
    expect(warnings.join('\n')).not.toContain(first.adminToken);
    expect(JSON.parse(readFileSync(file, 'utf8')).KEYPLANE_ADMIN_TOKEN).toBe(first.adminToken);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('reads the cache settings: seconds to ms, 0 turns caching off, out of range refused', () => {
    const base = { NODE_ENV: 'production', ...SECRETS };
    expect(loadConfig(base).cache).toEqual({ ttlMs: 60_000, maxEntries: 10_000 });
    expect(loadConfig({ ...base, CACHE_TTL_SECONDS: '0', CACHE_MAX_ENTRIES: '50' }).cache).toEqual({ ttlMs: 0, maxEntries: 50 });
    expect(() => loadConfig({ ...base, CACHE_TTL_SECONDS: '-1' })).toThrow(/CACHE_TTL_SECONDS/);
    expect(() => loadConfig({ ...base, CACHE_TTL_SECONDS: '3601' })).toThrow(/CACHE_TTL_SECONDS/);
  });

  it('reads operator provider hosts by slug, and refuses unsafe ones naming the variable only', () => {
    const base = { NODE_ENV: 'production', ...SECRETS };
    expect(loadConfig(base).providerBaseUrls).toEqual({});
    const hosts = loadConfig({
      ...base,
      PROVIDER_BASE_URL_OPENAI: ' https://Egress.example.com/openai/ ',
      PROVIDER_BASE_URL_GOOGLE_GEMINI: 'http://10.1.2.3:8080',
    }).providerBaseUrls;
    expect(hosts).toEqual({ openai: 'https://egress.example.com/openai', 'google-gemini': 'http://10.1.2.3:8080' });
    expect(Object.isFrozen(hosts)).toBe(true);
    for (const bad of [
      'ftp://files.example',
      'https://user:hunter2-secret@proxy.example',
      'https://proxy.example/?token=hunter2-secret',
      'not a url',
    ]) {
      expect(() => loadConfig({ ...base, PROVIDER_BASE_URL_OPENAI: bad })).toThrow(/PROVIDER_BASE_URL_OPENAI/);
      try {
        loadConfig({ ...base, PROVIDER_BASE_URL_OPENAI: bad });
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
      }
    }
  });

  it('reads the key-check limits with documented defaults; never unlimited; a bad value names its variable', () => {
    const base = { NODE_ENV: 'production', ...SECRETS };
    expect(loadConfig(base).keyChecks).toEqual({
      tenantLimit: 60,
      tokenLimit: 20,
      periodMs: 60_000,
      repeatThreshold: 20,
      repeatWindowMs: 600_000,
      perRequest: 1,
      cacheTtlMs: 60_000,
    });
    for (const name of ['KEY_CHECK_TENANT_LIMIT', 'KEY_CHECK_TOKEN_LIMIT', 'KEY_CHECK_PERIOD_SECONDS', 'KEY_CHECKS_PER_REQUEST']) {
      expect(() => loadConfig({ ...base, [name]: '0' })).toThrow(new RegExp(name));
    }
    expect(() => loadConfig({ ...base, KEY_TEST_CACHE_SECONDS: 'soon' })).toThrow(/KEY_TEST_CACHE_SECONDS/);
    expect(loadConfig({ ...base, KEY_TEST_CACHE_SECONDS: '0' }).keyChecks.cacheTtlMs).toBe(0);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ ...SECRETS, NODE_ENV: 'test' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.graphql.introspection).toBe(true);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'production' }).graphql.introspection).toBe(false);
  });
});
