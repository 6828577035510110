import type { PrivateRedisCluster } from './private-redis-cluster';

export default async function scaleTeardown(): Promise<void> {
  const holder = globalThis as { keyplaneTestCluster?: PrivateRedisCluster };
  await holder.keyplaneTestCluster?.stop();
  delete holder.keyplaneTestCluster;
  delete process.env.KEYPLANE_TEST_SCALE_CLUSTER_SEEDS;
}
