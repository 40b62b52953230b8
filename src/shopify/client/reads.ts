import { Errors } from '../../domain/errors.js';
import * as D from './documents.js';
import type { GraphqlCaller } from './graphql-call.js';
import {
  levelKey,
  type FulfillmentLine,
  type Gid,
  type LevelPair,
  type LevelQuantities,
  type LocationRef,
  type OrderFulfillment,
  type OrderFulfillmentOrder,
  type VariantRef,
} from './types.js';

export const DEFAULT_LEVEL_NAMES = ['available', 'committed', 'on_hand'] as const;
/** Shopify caps `nodes(ids:)` at 250 ids. */
const MAX_NODE_IDS = 250;
const PAIRS_PER_QUERY = Math.floor((D.MAX_QUERY_COST - 10) / D.READ_LEVEL_PAIR_COST);

interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Current quantities of many pairs, in as few queries as the 1,000-point limit allows. Unstocked pairs are absent. */
export async function readLevels(
  call: GraphqlCaller,
  pairs: LevelPair[],
  names: readonly string[] = DEFAULT_LEVEL_NAMES,
): Promise<Map<string, LevelQuantities>> {
  const itemsByLocation = new Map<Gid, Set<Gid>>();
  for (const p of pairs) {
    const items = itemsByLocation.get(p.locationId) ?? new Set<Gid>();
    items.add(p.inventoryItemId);
    itemsByLocation.set(p.locationId, items);
  }
  const groups: { locationId: Gid; ids: Gid[] }[] = [];
  for (const [locationId, items] of itemsByLocation) {
    const ids = [...items];
    for (let i = 0; i < ids.length; i += MAX_NODE_IDS) groups.push({ locationId, ids: ids.slice(i, i + MAX_NODE_IDS) });
  }
  // Pack groups into queries, splitting a group where a query fills up.
  const queries: { locationId: Gid; ids: Gid[] }[][] = [];
  let current: { locationId: Gid; ids: Gid[] }[] = [];
  let room = PAIRS_PER_QUERY;
  for (const g of groups) {
    let ids = g.ids;
    while (ids.length > 0) {
      if (room === 0) {
        queries.push(current);
        current = [];
        room = PAIRS_PER_QUERY;
      }
      const take = ids.slice(0, room);
      current.push({ locationId: g.locationId, ids: take });
      room -= take.length;
      ids = ids.slice(take.length);
    }
  }
  if (current.length > 0) queries.push(current);

  const levels = new Map<string, LevelQuantities>();
  await Promise.all(queries.map((groupsOfQuery) => readLevelsBatch(call, groupsOfQuery, names, levels)));
  return levels;
}

type LevelGroup = { locationId: Gid; ids: Gid[] };

/**
 * One query's worth of pairs. Our cost rule is Shopify's published one, but a server that prices the query
 * higher answers MAX_COST_EXCEEDED every time: then the batch is read as two halves, down to single pairs.
 */
async function readLevelsBatch(call: GraphqlCaller, groups: LevelGroup[], names: readonly string[], levels: Map<string, LevelQuantities>): Promise<void> {
  const variables: Record<string, unknown> = { names: [...names] };
  groups.forEach((g, i) => {
    variables[`ids${i}`] = g.ids;
    variables[`loc${i}`] = g.locationId;
  });
  const pairCount = groups.reduce((n, g) => n + g.ids.length, 0);
  type ItemNode = { id: Gid; inventoryLevel: { quantities: { name: string; quantity: number }[] } | null } | null;
  let data: Record<string, ItemNode[]>;
  try {
    ({ data } = await call<Record<string, ItemNode[]>>(D.readLevelsDocument(groups.length), variables, {
      operation: 'readLevels',
      estimatedCost: pairCount * D.READ_LEVEL_PAIR_COST,
    }));
  } catch (err) {
    if (pairCount < 2 || !isMaxCostExceeded(err)) throw err;
    const [first, second] = splitGroups(groups, Math.ceil(pairCount / 2));
    await Promise.all([readLevelsBatch(call, first, names, levels), readLevelsBatch(call, second, names, levels)]);
    return;
  }
  groups.forEach((g, i) => {
    for (const node of data[`l${i}`] ?? []) {
      if (node?.inventoryLevel == null) continue;
      const quantities: LevelQuantities = {};
      for (const q of node.inventoryLevel.quantities) quantities[q.name] = q.quantity;
      levels.set(levelKey(node.id, g.locationId), quantities);
    }
  });
}

function isMaxCostExceeded(err: unknown): boolean {
  if (!Errors.ShopifyGraphqlError.is(err)) return false;
  const codes = err.details?.codes;
  return Array.isArray(codes) && codes.includes('MAX_COST_EXCEEDED');
}

/** The first `take` pairs and the rest, each still grouped by location. */
function splitGroups(groups: LevelGroup[], take: number): [LevelGroup[], LevelGroup[]] {
  const first: LevelGroup[] = [];
  const second: LevelGroup[] = [];
  let room = take;
  for (const g of groups) {
    const head = g.ids.slice(0, room);
    const tail = g.ids.slice(head.length);
    if (head.length > 0) first.push({ locationId: g.locationId, ids: head });
    if (tail.length > 0) second.push({ locationId: g.locationId, ids: tail });
    room -= head.length;
  }
  return [first, second];
}

/** Variants per SKU, matched exactly (Shopify's search is looser than equality). */
export async function listVariantsBySku(call: GraphqlCaller, skus: string[]): Promise<Map<string, VariantRef[]>> {
  const wanted = [...new Set(skus.filter((s) => s !== ''))];
  const found = new Map<string, VariantRef[]>();
  const batches: string[][] = [];
  for (let i = 0; i < wanted.length; i += 50) batches.push(wanted.slice(i, i + 50));
  await Promise.all(
    batches.map(async (batch) => {
      const query = batch.map((sku) => `sku:${quoteSearch(sku)}`).join(' OR ');
      type V = { id: Gid; sku: string | null; inventoryItem: { id: Gid }; product: { id: Gid } | null };
      for await (const v of paginate<V>(call, D.VARIANTS_BY_SKU, { query }, 'productVariants', 'listVariantsBySku', D.VARIANTS_BY_SKU_COST)) {
        if (v.sku === null || !batch.includes(v.sku)) continue;
        const refs = found.get(v.sku) ?? [];
        refs.push({ variantId: v.id, sku: v.sku, inventoryItemId: v.inventoryItem.id, productId: v.product?.id ?? null });
        found.set(v.sku, refs);
      }
    }),
  );
  return found;
}

/** Shopify search syntax: a value with spaces, quotes or colons must be quoted. */
function quoteSearch(value: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(value) ? value : `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export async function listLocations(call: GraphqlCaller): Promise<LocationRef[]> {
  const out: LocationRef[] = [];
  type L = { id: Gid; name: string; isActive: boolean | null };
  for await (const l of paginate<L>(call, D.LOCATIONS, {}, 'locations', 'listLocations', D.LOCATIONS_COST)) {
    out.push({ id: l.id, name: l.name, isActive: l.isActive ?? null });
  }
  return out;
}

/** Up to two active locations of the shop: enough to tell a single-location shop from the others. */
export async function probeActiveLocations(call: GraphqlCaller): Promise<Gid[]> {
  const { data } = await call<{ locations: { nodes: { id: Gid }[] } }>(D.ACTIVE_LOCATIONS_PROBE, {}, {
    operation: 'activeLocations',
    estimatedCost: D.ACTIVE_LOCATIONS_PROBE_COST,
  });
  return data.locations.nodes.map((n) => n.id);
}

export interface OrderSummary {
  orderId: Gid;
  updatedAt: string;
  cancelled: boolean;
  sourceName: string | null;
  /** `quantity` is what is still to be fulfilled. */
  lines: { lineItemId: Gid; sku: string | null; variantId: Gid | null; quantity: number }[];
  /** The order has more lines than `lines` holds (the first ORDERS_LINES_PAGE only). */
  moreLines: boolean;
}

/** Open orders updated at or after `since`, oldest page first (reconciliation's net for lost webhooks). */
export function listOpenOrdersUpdatedSince(call: GraphqlCaller, since: Date): AsyncGenerator<OrderSummary> {
  // Units of fulfilled lines left `committed` already; only what is still to ship can hold a claim.
  return ordersMatching(call, `updated_at:>=${since.toISOString()} status:open -fulfillment_status:fulfilled`, 'listOpenOrdersUpdatedSince');
}

/** Orders cancelled and updated at or after `since` (reconciliation's net for lost orders/cancelled webhooks). */
export function listCancelledOrdersUpdatedSince(call: GraphqlCaller, since: Date): AsyncGenerator<OrderSummary> {
  return ordersMatching(call, `updated_at:>=${since.toISOString()} status:cancelled`, 'listCancelledOrdersUpdatedSince');
}

async function* ordersMatching(call: GraphqlCaller, query: string, operation: string): AsyncGenerator<OrderSummary> {
  type O = { id: Gid; updatedAt: string; cancelledAt: string | null; sourceName: string | null; lineItems: { nodes: { id: Gid; sku: string | null; unfulfilledQuantity: number; variant: { id: Gid } | null }[]; pageInfo?: { hasNextPage?: boolean } } };
  for await (const o of paginate<O>(call, D.ORDERS_UPDATED_SINCE, { query }, 'orders', operation, D.ORDERS_UPDATED_SINCE_COST)) {
    yield {
      orderId: o.id,
      updatedAt: o.updatedAt,
      cancelled: o.cancelledAt !== null,
      sourceName: o.sourceName,
      lines: o.lineItems.nodes.map((l) => ({ lineItemId: l.id, sku: l.sku, variantId: l.variant?.id ?? null, quantity: l.unfulfilledQuantity })),
      moreLines: o.lineItems.pageInfo?.hasNextPage === true,
    };
  }
}

async function* paginate<T>(
  call: GraphqlCaller,
  document: string,
  variables: Record<string, unknown>,
  field: string,
  operation: string,
  estimatedCost: number,
): AsyncGenerator<T> {
  let after: string | null = null;
  for (;;) {
    const reply: { data: Record<string, Connection<T>> } = await call(document, { ...variables, after }, { operation, estimatedCost });
    const page: Connection<T> | undefined = reply.data[field];
    if (page === undefined) return;
    yield* page.nodes;
    if (!page.pageInfo.hasNextPage) return;
    after = nextCursor(page, operation);
  }
}

/**
 * The cursor of the next page. A page that says there is a next one but gives no cursor (the schema lets endCursor
 * be null) would be asked for again from the start, for ever: it is refused, naming the call.
 */
function nextCursor(page: { pageInfo: { endCursor: string | null } }, operation: string): string {
  const cursor = page.pageInfo.endCursor;
  if (!cursor) throw Errors.ShopifyUnavailable(`Shopify call ${operation} answered hasNextPage without an endCursor; the listing cannot go on`, { operation });
  return cursor;
}

type RawLine = { remainingQuantity: number; totalQuantity: number; lineItem: { id: Gid; sku: string | null; variant: { id: Gid } | null } };
type RawFulfillmentOrder = {
  id: Gid;
  status: string;
  assignedLocation: { location: { id: Gid } | null } | null;
  lineItems: Connection<RawLine>;
};

/**
 * Where an order's units are committed: the assigned location of each fulfillment order, with its lines.
 * Line items carry no location themselves (see the reference document).
 */
export async function fetchOrderFulfillment(call: GraphqlCaller, orderId: Gid, opts: { lineCount?: number } = {}): Promise<OrderFulfillment | null> {
  const fulfillmentOrders: OrderFulfillmentOrder[] = [];
  // Sized from the webhook's line count when known (an order of one line requests 11 points, not 928).
  const page = opts.lineCount !== undefined && opts.lineCount > 0 ? D.orderFulfillmentPage(opts.lineCount) : { fos: D.FO_PAGE, lines: D.FO_LINES_PAGE };
  const query = page.fos === D.FO_PAGE && page.lines === D.FO_LINES_PAGE ? D.ORDER_FULFILLMENT : D.orderFulfillmentQuery(page.fos, page.lines);
  const estimatedCost = D.orderFulfillmentCost(page.fos, page.lines);
  let after: string | null = null;
  for (;;) {
    const { data }: { data: { order: { id: Gid; fulfillmentOrders: Connection<RawFulfillmentOrder> } | null } } = await call(
      query,
      { id: orderId, after },
      { operation: 'fetchOrderFulfillment', estimatedCost },
    );
    if (data.order === null) return null;
    for (const fo of data.order.fulfillmentOrders.nodes) {
      const lines = fo.lineItems.nodes.map(toLine);
      if (fo.lineItems.pageInfo.hasNextPage) lines.push(...(await remainingLines(call, fo.id, fo.lineItems.pageInfo.endCursor)));
      fulfillmentOrders.push({ id: fo.id, status: fo.status, locationId: fo.assignedLocation?.location?.id ?? null, lines });
    }
    if (!data.order.fulfillmentOrders.pageInfo.hasNextPage) break;
    after = data.order.fulfillmentOrders.pageInfo.endCursor;
  }
  return { orderId, fulfillmentOrders };
}

async function remainingLines(call: GraphqlCaller, fulfillmentOrderId: Gid, cursor: string | null): Promise<FulfillmentLine[]> {
  const lines: FulfillmentLine[] = [];
  let after = cursor;
  for (;;) {
    const { data }: { data: { fulfillmentOrder: { lineItems: Connection<RawLine> } | null } } = await call(
      D.FULFILLMENT_ORDER_LINES,
      { id: fulfillmentOrderId, after },
      { operation: 'fetchOrderFulfillment', estimatedCost: D.FULFILLMENT_ORDER_LINES_COST },
    );
    const page = data.fulfillmentOrder?.lineItems;
    if (page === undefined) return lines;
    lines.push(...page.nodes.map(toLine));
    if (!page.pageInfo.hasNextPage) return lines;
    after = nextCursor(page, 'fetchOrderFulfillment');
  }
}

function toLine(l: RawLine): FulfillmentLine {
  return {
    lineItemId: l.lineItem.id,
    sku: l.lineItem.sku,
    variantId: l.lineItem.variant?.id ?? null,
    remainingQuantity: l.remainingQuantity,
    totalQuantity: l.totalQuantity,
  };
}

/** Which of these inventory item ids exist in the shop (`nodes` answers null for the others). */
export async function findInventoryItems(call: GraphqlCaller, ids: Gid[]): Promise<Set<Gid>> {
  const wanted = [...new Set(ids)];
  const found = new Set<Gid>();
  const batches: Gid[][] = [];
  for (let i = 0; i < wanted.length; i += MAX_NODE_IDS) batches.push(wanted.slice(i, i + MAX_NODE_IDS));
  for (const batch of batches) {
    type Node = { id?: Gid } | null;
    const { data } = await call<{ nodes: Node[] }>('query FindInventoryItems($ids: [ID!]!) { nodes(ids: $ids) { ... on InventoryItem { id } } }', { ids: batch }, {
      operation: 'findInventoryItems',
      estimatedCost: batch.length + 1,
    });
    for (const node of data.nodes) if (node?.id) found.add(node.id);
  }
  return found;
}
