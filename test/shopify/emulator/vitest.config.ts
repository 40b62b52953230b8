import { defineConfig } from 'vitest/config';

/** The emulator suite needs no Temporal, PostgreSQL or Redis: run it alone with this config. */
export default defineConfig({
  test: {
    root: new URL('../../..', import.meta.url).pathname,
    include: ['test/shopify/emulator/**/*.test.ts'],
    testTimeout: 20_000,
    pool: 'forks',
  },
});
