/**
 * The `scale` project's suites only: its global setup started a private Redis Cluster and left its
 * seed nodes in KEYPLANE_TEST_SCALE_CLUSTER_SEEDS. Global setups of every project run in one
 * process before any suite, so a plain variable there would reach the other projects' suites too;
 * this file (first in the scale project's setupFiles) hands it to test-env.ts for this project's
 * suites alone (each suite gets its own copy of process.env).
 */
if (process.env.KEYPLANE_TEST_SCALE_CLUSTER_SEEDS) process.env.KEYPLANE_TEST_REDIS_CLUSTER = process.env.KEYPLANE_TEST_SCALE_CLUSTER_SEEDS;
