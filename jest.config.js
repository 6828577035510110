/**
 * Three tiers, one Jest run (`npm test`), each selectable with `--selectProjects`:
 *   unit         pure logic; needs no PostgreSQL or Redis (`npm run test:unit`)
 *   integration  the real GraphQL endpoint, PostgreSQL, Redis and worker processors, in process
 *   e2e          the API and workers started as processes
 *   scale        Redis Cluster: existing suites re-run on a private cluster (scale-setup.ts), plus
 *                cluster specs in test/scale (multi-process, failovers); slow, so not in `npm test`'s default
 * The two tiers that need PostgreSQL share one global setup (a fresh database built by the migrations).
 */
const common = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // @fastify/static (under @bull-board/fastify) requires content-disposition 3, which is ESM only:
    // Node 22+ loads it natively, jest's module registry does not, so it is compiled to CommonJS.
    'content-disposition/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@fastify/static/node_modules/)?content-disposition/)'],
  setupFiles: ['<rootDir>/test/helpers/setup-env.ts'],
};

/** Integration suites that also run on a Redis Cluster (the `scale` project). */
const SUITES_ON_CLUSTER = [
  'worker/validate-credential.int.spec.ts',
  'worker/webhooks.int.spec.ts',
  'worker/sweeps.int.spec.ts',
  'api/key-test-cache.int.spec.ts',
  'api/subscriptions.int.spec.ts',
];

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/test/unit'], testMatch: ['**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.spec.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/*.spec.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
    },
    {
      ...common,
      displayName: 'scale',
      setupFiles: ['<rootDir>/test/helpers/scale-env.ts', ...common.setupFiles],
      roots: ['<rootDir>/test/scale', '<rootDir>/test/integration'],
      // The suites below, as they are, with every Redis user on the cluster; plus test/scale.
      testMatch: ['<rootDir>/test/scale/**/*.spec.ts', ...SUITES_ON_CLUSTER.map((path) => `<rootDir>/test/integration/${path}`)],
      globalSetup: '<rootDir>/test/helpers/scale-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/scale-teardown.ts',
    },
  ],
};
