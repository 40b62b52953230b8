import { Client, Connection } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { readEnv, type Env } from '../config/env.js';
import { createPool, describeDatabaseUrl, type Db } from '../db/pool.js';
import { registerShops } from '../db/shops.js';
import { Errors } from '../domain/errors.js';
import { createActivities, type Activities } from '../activities/index.js';
import { registerVersionGuard } from '../guard/version-guard.js';
import { leaseWaits } from '../observability/worker-metrics.js';
import { assertRedisAnswers, createRedis } from '../redis/client.js';
import { createShopifyClients } from './shopify-clients.js';
import { closeSources, createSources } from './sources.js';
import type { ShopifyClient } from '../shopify/client/index.js';
import type { SourceAdapter } from '../sources/adapter.js';

/** The long-lived resources of one process, built once from the environment and the configuration. */
export interface AppContext {
  env: Env;
  config: Config;
  db: Db;
  redis: Redis;
  temporal: Client;
  activities: Activities;
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyClient;
  close(): Promise<void>;
}

/** How long a process waits for Temporal at start before it gives up (a supervisor restarts it). */
export const TEMPORAL_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects to PostgreSQL, Redis and Temporal, in that order, and registers the configured shops. Any of them not
 * answering is an `ISYNC_DEPENDENCY_UNAVAILABLE` naming its address, and what was already opened is closed, so
 * the process exits instead of hanging.
 */
export async function createAppContext(overrides: { env?: Env; config?: Config } = {}): Promise<AppContext> {
  const env = overrides.env ?? readEnv();
  const config = overrides.config ?? loadConfig(env.INVENTORY_SYNC_CONFIG);
  const opened: (() => Promise<void> | void)[] = [];
  const closeOpened = async () => {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => undefined);
  };
  try {
    const db = createPool(env.DATABASE_URL);
    opened.push(() => db.end());
    await assertDatabaseAnswers(db, env.DATABASE_URL);
    await registerShops(db, config.shops);
    const redis = createRedis(env.REDIS_URL, env.REDIS_KEY_PREFIX);
    opened.push(() => redis.disconnect());
    await assertRedisAnswers(redis, env.REDIS_URL);
    registerVersionGuard(redis);
    // The shops' cost budgets in Redis: every worker and server of this deployment paces against one bucket per shop.
    const shopify = createShopifyClients(config, { ...(env.SHOPIFY_API_BASE_URL ? { baseUrl: env.SHOPIFY_API_BASE_URL } : {}), redis });
    const temporal = await connectTemporalClient(env);
    opened.push(() => temporal.connection.close());
    const sources = createSources(config, db);
    opened.push(() => closeSources(sources));
    // The one hook production sets: each wait for an older computation's write lease is counted.
    const racePoints = { whileKeyBusy: async (point: { shopId: string }) => void leaseWaits.inc({ shop: point.shopId }) };
    const activities = createActivities({ db, redis, config, sources, shopify, temporal, taskQueue: env.TEMPORAL_TASK_QUEUE, racePoints });
    return { env, config, db, redis, temporal, activities, sources, shopify, close: closeOpened };
  } catch (err) {
    await closeOpened();
    throw err;
  }
}

export async function assertDatabaseAnswers(db: Db, databaseUrl: string): Promise<void> {
  try {
    await db.query('SELECT 1');
  } catch (err) {
    throw Errors.DependencyUnavailable(`PostgreSQL does not answer at ${describeDatabaseUrl(databaseUrl)}: ${(err as Error).message}`, undefined, { cause: err });
  }
}

export function temporalAddress(env: Env): string {
  return env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
}

export async function connectTemporalClient(env: Env, timeoutMs = TEMPORAL_CONNECT_TIMEOUT_MS): Promise<Client> {
  const address = temporalAddress(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
  } catch (err) {
    throw Errors.DependencyUnavailable(`Temporal does not answer at ${address} (TEMPORAL_ADDRESS): ${(err as Error).message}`, { address }, { cause: err });
  }
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
}
