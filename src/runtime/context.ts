import { Client, Connection } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { readEnv, type Env } from '../config/env.js';
import { createPool, type Db } from '../db/pool.js';
import { createActivities, type Activities } from '../activities/index.js';
import { registerVersionGuard } from '../guard/version-guard.js';
import { leaseWaits } from '../observability/worker-metrics.js';
import { assertRedisAnswers, createRedis } from '../redis/client.js';
import { createShopifyClients } from './shopify-clients.js';
import { createSources } from './sources.js';

/** The long-lived resources of one process, built once from the environment and the configuration. */
export interface AppContext {
  env: Env;
  config: Config;
  db: Db;
  redis: Redis;
  temporal: Client;
  activities: Activities;
  close(): Promise<void>;
}

export async function createAppContext(overrides: { env?: Env; config?: Config } = {}): Promise<AppContext> {
  const env = overrides.env ?? readEnv();
  const config = overrides.config ?? loadConfig(env.INVENTORY_SYNC_CONFIG);
  const db = createPool(env.DATABASE_URL);
  const redis = createRedis(env.REDIS_URL, env.REDIS_KEY_PREFIX);
  await assertRedisAnswers(redis, env.REDIS_URL);
  registerVersionGuard(redis);
  const shopify = createShopifyClients(config, env.SHOPIFY_API_BASE_URL ? { baseUrl: env.SHOPIFY_API_BASE_URL } : {});
  const temporal = await connectTemporalClient(env);
  // The one hook production sets: each wait for an older computation's write lease is counted.
  const racePoints = { whileKeyBusy: async (point: { shopId: string }) => void leaseWaits.inc({ shop: point.shopId }) };
  const activities = createActivities({ db, redis, config, sources: createSources(config, db), shopify, temporal, taskQueue: env.TEMPORAL_TASK_QUEUE, racePoints });
  return {
    env,
    config,
    db,
    redis,
    temporal,
    activities,
    close: async () => {
      await temporal.connection.close();
      redis.disconnect();
      await db.end();
    },
  };
}

export async function connectTemporalClient(env: Env): Promise<Client> {
  const address = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
}
