import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from './env.js';

/** Where `npm start` (the demo) writes the configuration it runs with, inside INVENTORY_SYNC_DATA_DIR. */
export const DEMO_CONFIG_FILE = 'inventory-sync.yaml';

export function demoConfigPath(env: Pick<Env, 'INVENTORY_SYNC_DATA_DIR'>): string {
  return join(env.INVENTORY_SYNC_DATA_DIR, DEMO_CONFIG_FILE);
}

/**
 * Beside it, the demo's own settings a command needs to reach what the demo started: the Shopify emulator's URL
 * and the emulator shop's access token, only where the demo chose them itself (a value set in the environment is
 * never written). Local, made-up values: the emulator accepts nothing else.
 */
export const DEMO_ENV_FILE = 'demo-env.json';

export function demoEnvPath(env: Pick<Env, 'INVENTORY_SYNC_DATA_DIR'>): string {
  return join(env.INVENTORY_SYNC_DATA_DIR, DEMO_ENV_FILE);
}

/** The demo's settings (see DEMO_ENV_FILE), or none when the file is absent or not what the demo writes. */
export function readDemoEnv(env: Pick<Env, 'INVENTORY_SYNC_DATA_DIR'>): Record<string, string> {
  const path = demoEnvPath(env);
  if (!existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
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
