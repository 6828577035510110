/** Fixed, test-only configuration. These values protect nothing; they only make runs repeatable. */
export const TEST_DB = process.env.KEYPLANE_TEST_DB ?? 'keyplane_test';
export const PG_ADMIN_URL = process.env.KEYPLANE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_DATABASE_URL = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${TEST_DB}`);

export const TEST_REDIS_URL = process.env.KEYPLANE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The queue backend every suite runs on: `.ci/run` runs the integration and e2e tiers on both. */
export const TEST_QUEUE_BACKEND = process.env.KEYPLANE_TEST_QUEUE_BACKEND === 'postgres' ? 'postgres' : 'redis';
/**
 * REDIS_CLUSTER_NODES of a private Redis Cluster, set by the `scale` project's global setup
 * (test/helpers/scale-setup.ts): suites then run their queues, events and limits on the cluster.
 */
export const TEST_REDIS_CLUSTER = TEST_QUEUE_BACKEND === 'redis' ? (process.env.KEYPLANE_TEST_REDIS_CLUSTER ?? null) : null;

export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  DATABASE_URL: TEST_DATABASE_URL,
  QUEUE_BACKEND: TEST_QUEUE_BACKEND,
  ...(TEST_QUEUE_BACKEND === 'redis' ? (TEST_REDIS_CLUSTER ? { REDIS_CLUSTER_NODES: TEST_REDIS_CLUSTER } : { REDIS_URL: TEST_REDIS_URL }) : {}),
  KEYPLANE_ADMIN_TOKEN: 'test-platform-admin-token-0123456789abcdef',
  KEYPLANE_MASTER_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}`,
  KEYPLANE_FINGERPRINT_KEY: 'test-fingerprint-pepper-0123456789abcdef',
  KEYPLANE_AUDIT_SIGNING_KEYS: `1:${Buffer.alloc(32, 5).toString('base64')}`,
  PROVIDER_TIMEOUT_MS: '1500',
  // Tests talk to fake providers and webhook receivers on loopback, over http on random ports:
  // allowed explicitly, as ops would (README: Outbound requests).
  OUTBOUND_ALLOW_DESTINATIONS: 'http://127.0.0.1:*,http://localhost:*,http://[::1]:*',
  OUTBOUND_ALLOW_LOOPBACK: 'true',
  OUTBOUND_ALLOW: '',
  // Suites create many keys with one token; key-check-limits.int.spec.ts sets real limits itself.
  KEY_CHECK_TENANT_LIMIT: '100000',
  KEY_CHECK_TOKEN_LIMIT: '100000',
};
