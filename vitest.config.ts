import { defineConfig } from 'vitest/config';

/**
 * Three tiers (docs/adr/0003-test-tiers.md): unit tests need nothing; integration and
 * end-to-end tests get real Redis and a real control plane from global setups that start each
 * at most once per run, shared by both tiers.
 */
const services = [
  'test/support/redis-global-setup.ts',
  'test/cluster/global-setup.ts',
  'test/support/prometheus-global-setup.ts',
];

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        // Some unit tests are CPU-bound (model-based exploration of every machine path); on two
        // cores shared with the API server and the other tiers, 5 s is too little.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: services,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: services,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
