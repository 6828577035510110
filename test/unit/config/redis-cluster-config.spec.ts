import { ConfigError, loadConfig } from '../../../src/config';
import { redisTargetOf } from '../../../src/queue/connection';

const BASE = {
  NODE_ENV: 'test',
  KEYPLANE_ADMIN_TOKEN: 'admin-token-value-that-is-long-enough-0001',
  KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  KEYPLANE_FINGERPRINT_KEY: 'fingerprint-pepper-value-long-enough-0001',
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

describe('REDIS_CLUSTER_NODES', () => {
  it('makes the queues run on a Redis Cluster, with its credentials and TLS', () => {
    const config = loadConfig({
      ...BASE,
      REDIS_CLUSTER_NODES: 'redis-0.example:6379, 10.0.0.2:7001,[::1]:7002',
      REDIS_USERNAME: 'keyplane',
      REDIS_PASSWORD: 'cluster-password-1',
      REDIS_TLS: 'true',
    });
    expect(config.queue.backend).toBe('redis');
    expect(config.redisUrl).toBeNull();
    expect(config.redisCluster).toEqual({
      nodes: [
        { host: 'redis-0.example', port: 6379 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'keyplane',
      password: 'cluster-password-1',
      tls: true,
    });
    expect(redisTargetOf(config)).toMatchObject({ kind: 'cluster', tls: true });
  });

  it('leaves the single-server shapes as they were', () => {
    expect(loadConfig({ ...BASE, REDIS_URL: 'redis://r:6379' })).toMatchObject({ redisUrl: 'redis://r:6379', redisCluster: null });
    expect(loadConfig({ ...BASE }).queue.backend).toBe('postgres');
    expect(redisTargetOf(loadConfig({ ...BASE, REDIS_URL: 'redis://r:6379' }))).toEqual({ kind: 'single', url: 'redis://r:6379' });
  });

  it('refuses a malformed node list, naming the variable only', () => {
    const message = failure({ REDIS_CLUSTER_NODES: 'redis-0.example,secret-host:99999' });
    expect(message).toContain('REDIS_CLUSTER_NODES');
    expect(message).not.toContain('secret-host');
  });

  it('refuses a cluster with REDIS_URL or with the postgres queue backend', () => {
    expect(failure({ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://r:6379' })).toMatch(/not both/);
    expect(failure({ REDIS_CLUSTER_NODES: 'a:1', QUEUE_BACKEND: 'postgres' })).toMatch(/QUEUE_BACKEND/);
  });

  it('refuses a QUEUE_PREFIX with braces on a cluster (Keyplane places the hash tags itself)', () => {
    const message = failure({ REDIS_CLUSTER_NODES: 'a:1', QUEUE_PREFIX: '{keyplane}' });
    expect(message).toMatch(/QUEUE_PREFIX must not contain "\{" or "\}" with REDIS_CLUSTER_NODES/);
    // One server keeps accepting it, as before.
    expect(loadConfig({ ...BASE, REDIS_URL: 'redis://r:6379', QUEUE_PREFIX: '{keyplane}' }).queue.prefix).toBe('{keyplane}');
  });

  it('never prints the cluster password in an error', () => {
    const message = failure({ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://r:6379', REDIS_PASSWORD: 'cluster-password-1' });
    expect(message).not.toContain('cluster-password-1');
  });
});
