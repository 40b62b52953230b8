import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
