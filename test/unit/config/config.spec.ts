import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, embeddedPostgresSettingsFromEnv, loadConfig, queueSettingsFromEnv, tracingSettingsFromEnv } from '../../../src/config';
import { describeDatabaseUrl, queueSchemaOf } from '../../../src/config-values';

const SECRETS = {
  KEYPLANE_ADMIN_TOKEN: 'admin-token-value-that-is-long-enough-0001',
  KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  KEYPLANE_FINGERPRINT_KEY: 'fingerprint-pepper-value-long-enough-0001',
  KEYPLANE_AUDIT_SIGNING_KEYS: `1:${Buffer.alloc(32, 3).toString('base64')}`,
  DATABASE_URL: 'postgres://keyplane:pw@db.example:5432/keyplane',
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
    const first = loadConfig({ NODE_ENV: 'development', DATABASE_URL: SECRETS.DATABASE_URL, KEYPLANE_LOCAL_SECRETS_FILE: file }, (m) =>
      warnings.push(m),
    );
    const second = loadConfig({ NODE_ENV: 'development', DATABASE_URL: SECRETS.DATABASE_URL, KEYPLANE_LOCAL_SECRETS_FILE: file }, () => undefined);
    expect(second.masterKeys).toBe(first.masterKeys);
    expect(second.adminToken).toBe(first.adminToken);
    expect(first.masterKeys).toMatch(/^1:[A-Za-z0-9+/]{43}=$/);
    expect(warnings.join('\n')).toContain('KEYPLANE_MASTER_KEYS');
    expect(warnings.join('\n')).not.toContain(first.adminToken);
    expect(JSON.parse(readFileSync(file, 'utf8')).KEYPLANE_ADMIN_TOKEN).toBe(first.adminToken);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('prints the development-secrets notice unless the starter already did (KEYPLANE_DEV_SECRETS_NOTICE=false)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kp-config-')), 'dev-secrets.json');
    const env = { NODE_ENV: 'development', DATABASE_URL: SECRETS.DATABASE_URL, KEYPLANE_LOCAL_SECRETS_FILE: file };
    const warnings: string[] = [];
    loadConfig(env, (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    const quiet = loadConfig({ ...env, KEYPLANE_DEV_SECRETS_NOTICE: 'false' }, (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    expect(quiet.masterKeysGenerated).toBe(true);
  });

  it('reads the tracing settings: off without an endpoint, a bad endpoint or ratio named', () => {
    expect(tracingSettingsFromEnv({})).toEqual({ endpoint: null, serviceName: null, sampleRatio: 1 });
    expect(
      tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'kp', OTEL_TRACES_SAMPLER_ARG: '0.25' }),
    ).toEqual({ endpoint: 'http://collector:4318', serviceName: 'kp', sampleRatio: 0.25 });
    expect(() => tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => tracingSettingsFromEnv({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
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

  it("Apollo's landing page (scripts from Apollo's CDN) is off in production unless GRAPHQL_LANDING_PAGE says otherwise", () => {
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'development' }).graphql.landingPage).toBe(true);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'production' }).graphql.landingPage).toBe(false);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'production', GRAPHQL_LANDING_PAGE: 'true' }).graphql.landingPage).toBe(true);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'development', GRAPHQL_LANDING_PAGE: 'false' }).graphql.landingPage).toBe(false);
  });
});

describe('database and queue backend (issue 11)', () => {
  const prod = { ...SECRETS, NODE_ENV: 'production' };
  const without = (env: Record<string, string>, name: string) => Object.fromEntries(Object.entries(env).filter(([k]) => k !== name));

  it('DATABASE_URL is required; the message says npm start embeds one, except in production', () => {
    expect(() => loadConfig(without(prod, 'DATABASE_URL'))).toThrow(
      /DATABASE_URL is required in production \(an embedded PostgreSQL is never started there\)/,
    );
    expect(() => loadConfig(without({ ...SECRETS, NODE_ENV: 'development' }, 'DATABASE_URL'))).toThrow(
      /run `npm start`, which starts an embedded PostgreSQL/,
    );
    expect(() => loadConfig({ ...prod, DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL \(/);
    try {
      loadConfig({ ...prod, DATABASE_URL: 'postgres://u:hunter2-secret@db/x y' });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('the queue backend follows what is configured: postgres without REDIS_URL, redis with one, QUEUE_BACKEND wins', () => {
    expect(loadConfig(prod).queue.backend).toBe('postgres');
    expect(loadConfig(prod).redisUrl).toBeNull();
    expect(loadConfig({ ...prod, REDIS_URL: 'redis://cache:6379' })).toMatchObject({ queue: { backend: 'redis' }, redisUrl: 'redis://cache:6379' });
    expect(loadConfig({ ...prod, QUEUE_BACKEND: 'redis' })).toMatchObject({ queue: { backend: 'redis' }, redisUrl: 'redis://127.0.0.1:6379' });
    // Explicitly postgres: a REDIS_URL left in the environment connects nothing.
    expect(loadConfig({ ...prod, QUEUE_BACKEND: 'postgres', REDIS_URL: 'redis://cache:6379' })).toMatchObject({
      queue: { backend: 'postgres' },
      redisUrl: null,
    });
  });

  it('an unknown QUEUE_BACKEND names the variable and the choices', () => {
    expect(() => loadConfig({ ...prod, QUEUE_BACKEND: 'kafka' })).toThrow(/QUEUE_BACKEND \(expected "redis" or "postgres"\)/);
  });

  it('on postgres the queue prefix names a schema: a prefix that cannot is refused at start', () => {
    expect(queueSchemaOf(loadConfig(prod).queue.prefix)).toBe('keyplane_queues');
    expect(queueSchemaOf('Kp-Test-1')).toBe('kp_test_1_queues');
    expect(() => loadConfig({ ...prod, QUEUE_PREFIX: '{keyplane}' })).toThrow(
      /QUEUE_PREFIX \(with QUEUE_BACKEND=postgres it names a PostgreSQL schema/,
    );
    expect(loadConfig({ ...prod, QUEUE_PREFIX: '{keyplane}', REDIS_URL: 'redis://cache:6379' }).queue.prefix).toBe('{keyplane}');
    expect(queueSettingsFromEnv({ QUEUE_PREFIX: 'kp-a' })).toEqual({ backend: 'postgres', prefix: 'kp-a' });
    expect(() => queueSettingsFromEnv({ QUEUE_BACKEND: 'nope' })).toThrow(ConfigError);
  });

  it('start-up lines describe the database without its user or password', () => {
    expect(describeDatabaseUrl('postgres://keyplane:pw-secret@db.example:6543/kp')).toBe('db.example:6543/kp');
    expect(describeDatabaseUrl('postgres://db.example/kp')).toBe('db.example:5432/kp');
    expect(describeDatabaseUrl('::')).toBe('(unparsable DATABASE_URL)');
  });

  it('the embedded PostgreSQL settings: a folder under the project and a loopback port, flagged in production', () => {
    expect(embeddedPostgresSettingsFromEnv({})).toEqual({ dataDir: '.keyplane/postgres', port: 54329, database: 'keyplane', production: false });
    expect(embeddedPostgresSettingsFromEnv({ NODE_ENV: 'production', KEYPLANE_EMBEDDED_PG_PORT: '6000' })).toMatchObject({
      port: 6000,
      production: true,
    });
    expect(() => embeddedPostgresSettingsFromEnv({ KEYPLANE_EMBEDDED_PG_PORT: '80' })).toThrow(/KEYPLANE_EMBEDDED_PG_PORT/);
  });
});
