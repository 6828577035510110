import { ConfigError, loadConfig } from '../../../src/config';

const BASE = {
  NODE_ENV: 'test',
  KEYPLANE_ADMIN_TOKEN: 'admin-token-value-that-is-long-enough-0001',
  KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  KEYPLANE_FINGERPRINT_KEY: 'fingerprint-pepper-value-long-enough-0001',
  KEYPLANE_AUDIT_SIGNING_KEYS: `1:${Buffer.alloc(32, 5).toString('base64')}`,
  DATABASE_URL: 'postgres://keyplane:pw@db.example:5432/keyplane',
};

const failure = (env: Record<string, string>) => {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('DATABASE_REPLICA_URLS', () => {
  it('is off unless set: every read on DATABASE_URL', () => {
    expect(loadConfig(BASE).databaseReplicas).toBeNull();
    expect(loadConfig({ ...BASE, DATABASE_REPLICA_URLS: '' }).databaseReplicas).toBeNull();
  });

  it('takes one or more postgres URLs, with the documented defaults for the bound and the probe', () => {
    const config = loadConfig({
      ...BASE,
      DATABASE_REPLICA_URLS: 'postgres://ro:secret-1@replica-a:5432/keyplane, postgresql://ro:secret-2@replica-b/keyplane',
    });
    expect(config.databaseReplicas).toEqual({
      urls: ['postgres://ro:secret-1@replica-a:5432/keyplane', 'postgresql://ro:secret-2@replica-b/keyplane'],
      maxLagMs: 1000,
      probeIntervalMs: 200,
    });
  });

  it('refuses a non-PostgreSQL URL without printing it (it may hold a password)', () => {
    const message = failure({ DATABASE_REPLICA_URLS: 'postgres://ro:pw@a/k,redis://:hunter2@b:6379' });
    expect(message).toContain('DATABASE_REPLICA_URLS');
    expect(message).not.toContain('hunter2');
  });

  it('refuses a lag bound that leaves no room to measure it', () => {
    expect(failure({ DATABASE_REPLICA_URLS: 'postgres://a/k', DATABASE_REPLICA_MAX_LAG_MS: '300', DATABASE_REPLICA_PROBE_MS: '200' })).toContain(
      'DATABASE_REPLICA_MAX_LAG_MS',
    );
    expect(failure({ DATABASE_REPLICA_URLS: 'postgres://a/k', DATABASE_REPLICA_MAX_LAG_MS: '50' })).toContain('DATABASE_REPLICA_MAX_LAG_MS');
  });
});
