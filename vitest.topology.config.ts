import { defineConfig } from 'vitest/config';

/**
 * `npm run test:topology`: the production topology against a Temporal server on PostgreSQL (built into the cache
 * with Go when missing). Two workers and two HTTP servers in processes of their own on one task queue, the
 * worker-kill case, and the server's own start-up errors. `.ci/run` runs it after `npm test`.
 */
export default defineConfig({
  test: {
    include: ['test/topology/**/*.test.ts', 'test/reservations/worker-kill.test.ts'],
    globalSetup: ['test/topology/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
