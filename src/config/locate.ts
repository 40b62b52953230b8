import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from './env.js';

/** Where `npm start` (the demo) writes the configuration it runs with, inside INVENTORY_SYNC_DATA_DIR. */
export const DEMO_CONFIG_FILE = 'inventory-sync.yaml';

export function demoConfigPath(env: Pick<Env, 'INVENTORY_SYNC_DATA_DIR'>): string {
  return join(env.INVENTORY_SYNC_DATA_DIR, DEMO_CONFIG_FILE);
}

/**
 * The configuration an operator command uses: INVENTORY_SYNC_CONFIG, else the one the running demo wrote (so
 * `reconcile` in a second terminal knows the demo's shop), else none (the defaults, no shops).
 */
export function operatorConfigPath(env: Pick<Env, 'INVENTORY_SYNC_CONFIG' | 'INVENTORY_SYNC_DATA_DIR'>): { path: string | undefined; fromDemo: boolean } {
  if (env.INVENTORY_SYNC_CONFIG) return { path: env.INVENTORY_SYNC_CONFIG, fromDemo: false };
  const demo = demoConfigPath(env);
  return existsSync(demo) ? { path: demo, fromDemo: true } : { path: undefined, fromDemo: false };
}
