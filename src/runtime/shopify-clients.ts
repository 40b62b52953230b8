import type { Config } from '../config/schema.js';
import { noConfigHint, secretFromEnv } from '../config/load.js';
import { Errors } from '../domain/errors.js';
import { countShopifyFault } from '../observability/fault-metrics.js';
import { createLogger } from '../observability/logger.js';
import { countingFetch } from '../observability/shopify-call-metrics.js';
import type { Redis } from 'ioredis';
import { createShopifyClient, RedisBudgetStore, ShopBudget, type ShopifyClient } from '../shopify/client/index.js';

/**
 * One budget-aware client per configured shop, created on first use; tokens come from the environment. With
 * `redis`, a shop's cost budget lives there, so every worker of the deployment (same Redis key prefix) paces
 * against one bucket, as Shopify keeps one per shop; without it, each process has its own and several workers
 * together overdraw the shop's bucket.
 */
export function createShopifyClients(config: Config, opts: { baseUrl?: string; env?: NodeJS.ProcessEnv; redis?: Redis } = {}): (shopId: string) => ShopifyClient {
  const clients = new Map<string, ShopifyClient>();
  const logger = createLogger(undefined, 'shopify-client');
  const budgetStore = opts.redis ? new RedisBudgetStore(opts.redis) : undefined;
  return (shopId: string) => {
    let client = clients.get(shopId);
    if (!client) {
      const shop = config.shops.find((s) => s.id === shopId);
      if (!shop) throw Errors.UnknownShop(`shop "${shopId}" is not in the configuration${noConfigHint(config)}`);
      client = createShopifyClient({
        shopDomain: shop.domain,
        accessToken: secretFromEnv(shop.access_token_env, opts.env),
        tokenSource: shop.access_token_env,
        // Every retry and throttle is logged (shop, operation, key ids) and counted.
        logger,
        onFault: countShopifyFault,
        // Calls, cost points and THROTTLED answers by operation (the worker's /metrics).
        fetchImpl: countingFetch(shop.domain),
        ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
        ...(budgetStore ? { budget: new ShopBudget(`${opts.baseUrl ?? 'https://' + shop.domain}|${shop.domain}`, budgetStore) } : {}),
      });
      clients.set(shopId, client);
    }
    return client;
  };
}
