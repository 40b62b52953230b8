import { shopifyCalls, shopifyCostPoints, shopifyThrottles } from './worker-metrics.js';

/** Our documents' names (documents.ts) as the operations the client names in its fault log. */
const OPERATION_OF_DOCUMENT: Record<string, string> = {
  ReadLevels: 'readLevels',
  SetAvailable: 'inventorySetQuantities',
  AdjustAvailable: 'inventoryAdjustQuantities',
  VariantsBySku: 'listVariantsBySku',
  Locations: 'listLocations',
  ActiveLocations: 'activeLocations',
  OrderFulfillment: 'fetchOrderFulfillment',
  FulfillmentOrderLines: 'fetchOrderFulfillment',
  BulkRun: 'bulkOperationRunQuery',
  BulkCurrent: 'currentBulkOperation',
  BulkStatus: 'bulkOperation',
  OrdersUpdatedSince: 'listOpenOrdersUpdatedSince',
};

export function operationOf(body: unknown): string {
  if (typeof body !== 'string') return 'unknown';
  const query = (JSON.parse(body) as { query?: unknown }).query;
  const name = typeof query === 'string' ? /\b(?:query|mutation)\s+([A-Za-z_]\w*)/.exec(query)?.[1] : undefined;
  if (name === undefined) return 'unknown';
  return OPERATION_OF_DOCUMENT[name] ?? name;
}

interface CostReply {
  errors?: { extensions?: { code?: string } }[];
  extensions?: { cost?: { actualQueryCost?: number | null; requestedQueryCost?: number | null } };
}

/**
 * A fetch for the Shopify client that counts every GraphQL request: calls by status, cost points charged, and
 * THROTTLED answers. It reads a clone of the answer, so the client sees the response untouched; other requests
 * (bulk result downloads) pass through uncounted.
 */
export function countingFetch(shopDomain: string, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/graphql.json')) return inner(input, init);
    let operation = 'unknown';
    try {
      operation = operationOf(init?.body);
    } catch {
      // not JSON: still counted, as unknown
    }
    let res: Response;
    try {
      res = await inner(input, init);
    } catch (err) {
      shopifyCalls.inc({ shop: shopDomain, operation, status: '0' });
      throw err;
    }
    shopifyCalls.inc({ shop: shopDomain, operation, status: String(res.status) });
    void res
      .clone()
      .json()
      .then((body: unknown) => {
        const reply = (body ?? {}) as CostReply;
        const throttled = res.status === 429 || (reply.errors ?? []).some((e) => e.extensions?.code === 'THROTTLED');
        if (throttled) shopifyThrottles.inc({ shop: shopDomain, operation });
        const cost = reply.extensions?.cost;
        const points = throttled ? 0 : (cost?.actualQueryCost ?? cost?.requestedQueryCost ?? 0);
        if (points > 0) shopifyCostPoints.inc({ shop: shopDomain, operation }, points);
      })
      .catch(() => {
        if (res.status === 429) shopifyThrottles.inc({ shop: shopDomain, operation });
      });
    return res;
  };
}
