import { createGraphqlTransport, DEFAULT_API_VERSION } from './admin-client.js';
import { sharedShopBudget, type ShopBudget } from './budget.js';
import { runBulkExport, runBulkQuery, streamBulkLines, type BulkLinesOptions, type BulkQueryOptions } from './bulk.js';
import { createGraphqlCaller, withBounds, type GraphqlCaller } from './graphql-call.js';
import { adjustAvailable, setAvailable } from './inventory.js';
import { DEFAULT_LEVEL_NAMES, fetchOrderFulfillment, listLocations, listOpenOrdersUpdatedSince, listVariantsBySku, readLevels } from './reads.js';
import { resolveRetryPolicy } from './retry.js';
import type { CallBounds, ClientFault, ClientLogger, RetryPolicy } from './types.js';

export interface ShopifyClientOptions {
  shopDomain: string;
  accessToken: string;
  apiVersion?: string;
  /** SHOPIFY_API_BASE_URL: send calls to this origin instead of https://{shopDomain}. */
  baseUrl?: string;
  /** The shop's pacer; by default the process-wide one for this shop at this origin. */
  budget?: ShopBudget;
  retry?: Partial<RetryPolicy>;
  logger?: ClientLogger;
  /** Told of every retry and throttle (the worker counts them). */
  onFault?: (fault: ClientFault) => void;
  fetchImpl?: typeof fetch;
}

/** One shop's Admin API, paced by its cost budget; every error it throws is an InventorySyncError. */
export function createShopifyClient(opts: ShopifyClientOptions) {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const origin = opts.baseUrl ?? `https://${opts.shopDomain}`;
  const budget = opts.budget ?? sharedShopBudget(`${origin}|${opts.shopDomain}`);
  const transport = createGraphqlTransport({
    shopDomain: opts.shopDomain,
    accessToken: opts.accessToken,
    apiVersion: opts.apiVersion ?? DEFAULT_API_VERSION,
    ...(opts.baseUrl === undefined ? {} : { baseUrl: opts.baseUrl }),
    fetchImpl,
    ...(opts.logger === undefined ? {} : { logger: opts.logger }),
  });
  const call: GraphqlCaller = createGraphqlCaller({
    shopDomain: opts.shopDomain,
    transport,
    budget,
    retry: resolveRetryPolicy(opts.retry),
    logger: opts.logger,
    onFault: opts.onFault,
  });
  const deps = { shopDomain: opts.shopDomain, call };

  return {
    shopDomain: opts.shopDomain,
    budget,
    setAvailable: (...args: DropFirst<Parameters<typeof setAvailable>>) => setAvailable(deps, ...args),
    adjustAvailable: (...args: DropFirst<Parameters<typeof adjustAvailable>>) => adjustAvailable(deps, ...args),
    readLevels: (pairs: Parameters<typeof readLevels>[1], names: readonly string[] = DEFAULT_LEVEL_NAMES, bounds?: CallBounds) => readLevels(withBounds(call, bounds), pairs, names),
    listVariantsBySku: (skus: string[]) => listVariantsBySku(call, skus),
    listLocations: () => listLocations(call),
    fetchOrderFulfillment: (orderId: string) => fetchOrderFulfillment(call, orderId),
    listOpenOrdersUpdatedSince: (since: Date) => listOpenOrdersUpdatedSince(call, since),
    runBulkQuery: (query: string, bulkOpts?: BulkQueryOptions) => runBulkQuery(withBounds(call, bulkOpts), fetchImpl, query, bulkOpts),
    /** A bulk export started (or joined) and finished; its file is read with `bulkLines`. */
    runBulkExport: (query: string, bulkOpts?: BulkQueryOptions) => runBulkExport(withBounds(call, bulkOpts), query, bulkOpts),
    bulkLines: (url: string, linesOpts?: BulkLinesOptions) => streamBulkLines(fetchImpl, url, linesOpts),
    /** Escape hatch for documents the typed operations do not cover; same pacing and retries. */
    request: call,
  };
}

export type ShopifyClient = ReturnType<typeof createShopifyClient>;

type DropFirst<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;
