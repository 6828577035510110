import globalSetup from './global-setup';
import { startPrivateRedisCluster, type PrivateRedisCluster } from './private-redis-cluster';

/**
 * The `scale` project: the test database, and a private Redis Cluster (3 masters, 3 replicas) that
 * every suite of the project runs its queues, live events and key-check limits on
 * (KEYPLANE_TEST_SCALE_CLUSTER_SEEDS, handed to test-env.ts by scale-env.ts). Suites that kill nodes start clusters of their own.
 */
export default async function scaleSetup(): Promise<void> {
  await globalSetup();
  if (process.env.KEYPLANE_TEST_QUEUE_BACKEND === 'postgres') return;
  const cluster = await startPrivateRedisCluster();
  (globalThis as { keyplaneTestCluster?: PrivateRedisCluster }).keyplaneTestCluster = cluster;
  // Read by scale-env.ts in this project's suites only (not KEYPLANE_TEST_REDIS_CLUSTER itself:
  // that would put the integration and e2e projects of the same run on the cluster too).
  process.env.KEYPLANE_TEST_SCALE_CLUSTER_SEEDS = cluster.seeds();
}
