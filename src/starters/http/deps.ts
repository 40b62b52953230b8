import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/schema.js';
import type { Db } from '../../db/pool.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AtsReader } from '../../reads/ats-reader.js';
import type { ShopifyClient } from '../../shopify/client/index.js';
import type { SourceAdapter } from '../../sources/adapter.js';

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
  /** What the reads (/ats, /explain, the console) compute ATS from; by default built from the configuration. */
  sources?: SourceAdapter[];
  /** Shopify clients for the reads (explain shows Shopify's levels); by default built from the configuration. */
  shopify?: (shopId: string) => ShopifyClient;
  /** The read cache and single flight of GET /ats; one per process, shared by the public and admin servers. */
  atsReader?: AtsReader;
}
