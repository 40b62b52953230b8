import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The operator console: vanilla TypeScript and uPlot, built into dist/console and served at /console/. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
  },
});
