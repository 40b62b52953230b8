import type { Config } from '../config/schema.js';
import { secretFromEnv } from '../config/load.js';
import { Errors } from '../domain/errors.js';
import { countShopifyFault } from '../observability/fault-metrics.js';
import { createLogger } from '../observability/logger.js';
import { countingFetch } from '../observability/shopify-call-metrics.js';
import { createShopifyClient, type ShopifyClient } from '../shopify/client/index.js';

/** One budget-aware client per configured shop, created on first use; tokens come from the environment. */
export function createShopifyClients(config: Config, opts: { baseUrl?: string; env?: NodeJS.ProcessEnv } = {}): (shopId: string) => ShopifyClient {
  const clients = new Map<string, ShopifyClient>();
  const logger = createLogger(undefined, 'shopify-client');
  return (shopId: string) => {
    let client = clients.get(shopId);
    if (!client) {
      const shop = config.shops.find((s) => s.id === shopId);
      if (!shop) throw Errors.UnknownShop(`shop "${shopId}" is not in the configuration`);
      client = createShopifyClient({
        shopDomain: shop.domain,
        accessToken: secretFromEnv(shop.access_token_env, opts.env),
        // Every retry and throttle is logged (shop, operation, key ids) and counted.
        logger,
        onFault: countShopifyFault,
        // Calls, cost points and THROTTLED answers by operation (the worker's /metrics).
        fetchImpl: countingFetch(shop.domain),
        ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      });
      clients.set(shopId, client);
    }
    return client;
  };
}
