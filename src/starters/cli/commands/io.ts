import type { Client } from '@temporalio/client';
import { readEnv, type Env } from '../../../config/env.js';
import { loadConfig } from '../../../config/load.js';
import { operatorConfigPath, readDemoEnv } from '../../../config/locate.js';
import type { Config } from '../../../config/schema.js';
import { createPool, type Db } from '../../../db/pool.js';
import { connectTemporalClient } from '../../../runtime/context.js';

/** What every command prints: results to standard output, notes and failures to standard error. */
export const out = (s: string): void => void process.stdout.write(`${s}\n`);
export const err = (s: string): void => void process.stderr.write(`${s}\n`);

/** INVENTORY_SYNC_CONFIG, or the configuration a running `npm start` wrote into the data directory. */
export function operatorConfig(env: Env): Config {
  const { path, fromDemo } = operatorConfigPath(env);
  if (fromDemo) {
    err(`using the configuration npm start wrote: ${path} (set INVENTORY_SYNC_CONFIG to use another)`);
    // And what reaching the demo's shop takes (its emulator, its token), unless the environment says otherwise.
    for (const [name, value] of Object.entries(readDemoEnv(env))) process.env[name] ??= value;
    if (!env.SHOPIFY_API_BASE_URL && process.env.SHOPIFY_API_BASE_URL) {
      env.SHOPIFY_API_BASE_URL = process.env.SHOPIFY_API_BASE_URL;
      err(`  and its Shopify emulator at ${env.SHOPIFY_API_BASE_URL}`);
    }
  }
  return loadConfig(path);
}

/** Runs a command that talks to Temporal with the environment's client and configuration. */
export async function withTemporal(work: (client: Client, env: Env, config: Config) => Promise<void>): Promise<void> {
  const env = readEnv();
  const config = operatorConfig(env);
  await withTemporalClient(env, (client) => work(client, env, config));
}

/** Runs `work` with a one-connection pool to `databaseUrl`, closed afterwards. */
export async function withDb<T>(databaseUrl: string, work: (db: Db) => Promise<T>): Promise<T> {
  const db = createPool(databaseUrl, 1);
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

/** Runs `work` with a Temporal client for the environment (no configuration needed), closed afterwards. */
export async function withTemporalClient<T>(env: Env, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectTemporalClient(env);
  try {
    return await work(client);
  } finally {
    await client.connection.close();
  }
}
