import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The production topology on a Temporal server on PostgreSQL: `npm run test:topology` (vitest.topology.config.ts).
    exclude: [...configDefaults.exclude, 'test/topology/**'],
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files share one Temporal server, one PostgreSQL database and one Redis; they isolate by ids and prefixes.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
