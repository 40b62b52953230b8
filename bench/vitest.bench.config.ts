import { defineConfig } from 'vitest/config';

/** Benchmarks print figures and assert nothing about time; they stay out of `npm test`. */
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
