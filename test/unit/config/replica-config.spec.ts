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

describe('QUEUE_REPLICA_ACKS', () => {
  it('is off by default; set, the relay waits for that many Redis replicas', () => {
    expect(loadConfig({ ...BASE, REDIS_URL: 'redis://r:6379' }).queue.replicaAcks).toBeNull();
    expect(loadConfig({ ...BASE, REDIS_URL: 'redis://r:6379', QUEUE_REPLICA_ACKS: '1' }).queue.replicaAcks).toEqual({ replicas: 1, timeoutMs: 500 });
  });

  it('is refused with the queues on PostgreSQL (there are no Redis replicas to wait for)', () => {
    expect(failure({ QUEUE_BACKEND: 'postgres', QUEUE_REPLICA_ACKS: '1' })).toContain('QUEUE_REPLICA_ACKS');
  });
});
