import { createGraphqlTransport, DEFAULT_API_VERSION } from './admin-client.js';
import { sharedShopBudget, type ShopBudget } from './budget.js';
import { runBulkExport, runBulkQuery, streamBulkLines, type BulkLinesOptions, type BulkQueryOptions } from './bulk.js';
import { createGraphqlCaller, withBounds, type GraphqlCaller } from './graphql-call.js';
import { adjustAvailable, setAvailable } from './inventory.js';
import { DEFAULT_LEVEL_NAMES, fetchOrderFulfillment, listLocations, probeActiveLocations, listCancelledOrdersUpdatedSince, listOpenOrdersUpdatedSince, listVariantsBySku, readLevels } from './reads.js';
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
  /** Where the access token came from (an environment variable's name), for the message when Shopify refuses it. */
  tokenSource?: string;
  fetchImpl?: typeof fetch;
  /**
   * How long the shop's active-location count is trusted (default 5 minutes). A location added within that time
   * is learned at the next probe; until then orders are resolved as if the shop still had one location.
   */
  locationsTtlMs?: number;
}

/** What the client last learned of the shop's active locations (at most two: one, or more than one). */
interface ActiveLocationsMemo {
  ids: string[];
  at: number;
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
    tokenSource: opts.tokenSource,
  });
  const deps = { shopDomain: opts.shopDomain, call };
  const locationsTtlMs = opts.locationsTtlMs ?? 5 * 60_000;
  let memo: ActiveLocationsMemo | undefined;
  let probing: Promise<ActiveLocationsMemo> | undefined;
  /** The shop's only active location, or null when it has more than one (or none); one probe at a time, cached. */
  const singleActiveLocation = async (): Promise<string | null> => {
    if (memo === undefined || Date.now() - memo.at >= locationsTtlMs) {
      probing ??= probeActiveLocations(call)
        .then((ids) => (memo = { ids, at: Date.now() }))
        .finally(() => (probing = undefined));
      await probing;
    }
    return memo!.ids.length === 1 ? memo!.ids[0]! : null;
  };

  return {
    shopDomain: opts.shopDomain,
    budget,
    setAvailable: (...args: DropFirst<Parameters<typeof setAvailable>>) => setAvailable(deps, ...args),
    adjustAvailable: (...args: DropFirst<Parameters<typeof adjustAvailable>>) => adjustAvailable(deps, ...args),
    readLevels: (pairs: Parameters<typeof readLevels>[1], names: readonly string[] = DEFAULT_LEVEL_NAMES, bounds?: CallBounds) => readLevels(withBounds(call, bounds), pairs, names),
    listVariantsBySku: (skus: string[]) => listVariantsBySku(call, skus),
    listLocations: () => listLocations(call),
    fetchOrderFulfillment: (orderId: string, readOpts?: { lineCount?: number }) => fetchOrderFulfillment(call, orderId, readOpts),
    singleActiveLocation,
    /** Drops what was learned of the shop's locations (a locations webhook, or a test); the next order probes again. */
    forgetLocations: () => void (memo = undefined),
    listOpenOrdersUpdatedSince: (since: Date) => listOpenOrdersUpdatedSince(call, since),
    listCancelledOrdersUpdatedSince: (since: Date) => listCancelledOrdersUpdatedSince(call, since),
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
