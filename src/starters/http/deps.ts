import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/schema.js';
import type { Db } from '../../db/pool.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';

/** What HTTP routes may use. Routes record durably and hand off to Temporal; they never call Shopify inline. */
export interface HttpDeps {
  db: Db;
  redis: Redis;
  config: Config;
  temporal: Client;
  taskQueue: string;
  metrics: Metrics;
  logger: Logger;
  /** Where secrets named by the configuration are read from (process.env in production). */
  env: NodeJS.ProcessEnv;
}
