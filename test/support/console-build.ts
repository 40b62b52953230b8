import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { build } from 'vite';
import { CONSOLE_DIST } from '../../src/starters/http/routes/console.js';

const LOCK = `${CONSOLE_DIST.replace(/\/$/, '')}.build-lock`;

/**
 * `npm run build` builds the console into dist/console; a fresh clone's `npm test` may not have built it. The
 * console's tests build it first if it is missing (once: test files running at once wait for the one that builds).
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = `${CONSOLE_DIST}index.html`;
  if (existsSync(index)) return;
  mkdirSync(`${CONSOLE_DIST}..`, { recursive: true });
  if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 300_000) rmSync(LOCK, { recursive: true, force: true });
  try {
    mkdirSync(LOCK);
  } catch {
    for (let i = 0; i < 1200 && !existsSync(index); i++) await delay(100);
    if (!existsSync(index)) throw new Error(`the console was not built within 120 s (is ${LOCK} stale?)`);
    return;
  }
  try {
    await build({ configFile: new URL('../../console/vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
