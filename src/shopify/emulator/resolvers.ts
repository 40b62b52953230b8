import { GraphQLError, defaultFieldResolver, type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLTypeResolver } from 'graphql';
import type { BulkOperationRecord } from './bulk.js';
import type { RequestContext } from './context.js';
import { gid, idOf, levelGid, parseGid } from './ids.js';
import {
  adjustQuantities,
  moveQuantities,
  setQuantities,
  type AdjustInput,
  type AdjustmentGroupRecord,
  type MoveInput,
  type MutationOutcome,
  type MutationPayload,
  type SetInput,
} from './inventory-mutations.js';
import { fulfillmentStatus, type FulfillmentOrderLineRecord, type FulfillmentOrderRecord, type LineItemRecord, type Order } from './order-records.js';
import { matchesSearch, paginate, type PageArgs } from './pagination.js';
import {
  isQuantityName,
  quantityOf,
  type InventoryItemRecord,
  type LevelRecord,
  type LocationRecord,
  type ProductRecord,
  type ShopState,
  type VariantRecord,
} from './state.js';

type Args = Record<string, unknown>;
type R<S = never> = (source: S, args: Args, ctx: RequestContext, info: GraphQLResolveInfo) => unknown;

const page = (a: Args) => a as PageArgs;

function findLineItem(shop: ShopState, lineItemId: number): LineItemRecord | undefined {
  for (const o of shop.orders.values()) {
    const li = o.lineItems.find((l) => l.id === lineItemId);
    if (li) return li;
  }
  return undefined;
}

function findFulfillmentOrder(shop: ShopState, id: number): FulfillmentOrderRecord | undefined {
  for (const o of shop.orders.values()) {
    const fo = o.fulfillmentOrders.find((f) => f.id === id);
    if (fo) return fo;
  }
  return undefined;
}

function lookupNode(shop: ShopState, id: string): unknown {
  const p = parseGid(id);
  if (!p) return null;
  switch (p.type) {
    case 'InventoryItem':
      return shop.items.get(p.id) ?? null;
    case 'InventoryLevel': {
      const item = Number(p.params.get('inventory_item_id'));
      return shop.level(item, p.id) ?? null;
    }
    case 'Location':
      return shop.locations.get(p.id) ?? null;
    case 'ProductVariant':
      return shop.variants.get(p.id) ?? null;
    case 'Product':
      return shop.products.get(p.id) ?? null;
    case 'Order':
      return shop.orders.get(p.id) ?? null;
    case 'FulfillmentOrder':
      return findFulfillmentOrder(shop, p.id) ?? null;
    case 'LineItem':
      return findLineItem(shop, p.id) ?? null;
    case 'BulkOperation':
      return shop.bulkOperations.get(p.id) ?? null;
    default:
      return null;
  }
}

function levelUpdatedAt(level: LevelRecord): string {
  const stamps = Object.values(level.updatedAt).filter((s): s is string => s !== null);
  return stamps.sort().at(-1) ?? level.createdAt;
}

function responseKey(info: GraphQLResolveInfo): string {
  const node = info.fieldNodes[0]!;
  return node.alias?.value ?? node.name.value;
}

function idempotencyError(code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH' | 'IDEMPOTENCY_CONCURRENT_REQUEST', key: string): MutationPayload {
  const message =
    code === 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH'
      ? `The idempotency key ${key} was already used with different parameters.`
      : `A request with the idempotency key ${key} is still in progress; retry later.`;
  return { inventoryAdjustmentGroup: null, userErrors: [{ code, field: null as unknown as string[], message }] };
}

/** Runs an inventory mutation at most once per idempotency key; repeats get the stored payload back. */
function idempotent(ctx: RequestContext, info: GraphQLResolveInfo, run: () => MutationOutcome): MutationPayload {
  const idem = ctx.idempotent.get(responseKey(info));
  if (!idem) throw new GraphQLError('The @idempotent directive is required for this mutation.', { extensions: { code: 'BAD_REQUEST' } });
  const store = ctx.shop.idempotency;
  if (idem.concurrent) return idempotencyError('IDEMPOTENCY_CONCURRENT_REQUEST', idem.key);
  const found = store.lookup(idem.key, idem.fingerprint, ctx.requestId);
  if (found.kind === 'replay') {
    ctx.shop.counters.idempotentReplays += 1;
    return found.result as MutationPayload;
  }
  if (found.kind === 'mismatch') return idempotencyError('IDEMPOTENCY_KEY_PARAMETER_MISMATCH', idem.key);
  if (found.kind === 'concurrent') return idempotencyError('IDEMPOTENCY_CONCURRENT_REQUEST', idem.key);
  const outcome = run();
  store.complete(idem.key, idem.fingerprint, outcome.payload);
  if (outcome.payload.userErrors.length === 0) {
    const c = ctx.shop.counters;
    c.mutationsApplied += 1;
    c.mutationsAppliedByKey[idem.key] = (c.mutationsAppliedByKey[idem.key] ?? 0) + 1;
    ctx.levelsChanged(ctx.shop, outcome.touched);
  }
  return outcome.payload;
}

/** In a windowed bulk run, the root connection's window of nodes (and whether more follow); otherwise all. */
function rootWindow<T>(ctx: RequestContext, all: T[]): T[] {
  const w = ctx.bulkWindow;
  if (!ctx.bulk || w === undefined) return all;
  w.more ||= w.start + w.size < all.length;
  return all.slice(w.start, w.start + w.size);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- resolver parents differ per type; graphql-js checks the shapes
const resolvers: Record<string, Record<string, R<any>>> = {
  Query: {
    shop: (_s, _a, ctx) => ({
      id: 'gid://shopify/Shop/1',
      name: ctx.shop.config.domain.replace(/\.myshopify\.com$/, ''),
      myshopifyDomain: ctx.shop.config.domain,
      plan: { displayName: ctx.shop.config.plan, partnerDevelopment: false, shopifyPlus: ctx.shop.config.plan === 'plus' || ctx.shop.config.plan === 'enterprise' },
    }),
    node: (_s, a, ctx) => lookupNode(ctx.shop, a.id as string),
    nodes: (_s, a, ctx) => (a.ids as string[]).map((id) => lookupNode(ctx.shop, id)),
    inventoryItems: (_s, a, ctx) =>
      paginate(
        rootWindow(ctx, [...ctx.shop.items.values()].filter((i) => matchesSearch(a.query as string | undefined, { sku: i.sku, id: i.id }))),
        (i) => String(i.id),
        page(a),
        ctx.bulk,
      ),
    inventoryItem: (_s, a, ctx) => ctx.shop.items.get(idOf(a.id as string, 'InventoryItem') ?? -1) ?? null,
    inventoryLevel: (_s, a, ctx) => {
      const p = parseGid(a.id as string);
      return p?.type === 'InventoryLevel' ? (ctx.shop.level(Number(p.params.get('inventory_item_id')), p.id) ?? null) : null;
    },
    productVariants: (_s, a, ctx) =>
      paginate(
        rootWindow(ctx, [...ctx.shop.variants.values()].filter((v) => matchesSearch(a.query as string | undefined, { sku: v.sku, id: v.id, product_id: v.productId, title: v.title }))),
        (v) => String(v.id),
        page(a),
        ctx.bulk,
      ),
    productVariant: (_s, a, ctx) => ctx.shop.variants.get(idOf(a.id as string, 'ProductVariant') ?? -1) ?? null,
    product: (_s, a, ctx) => ctx.shop.products.get(idOf(a.id as string, 'Product') ?? -1) ?? null,
    locations: (_s, a, ctx) =>
      paginate(
        rootWindow(ctx, [...ctx.shop.locations.values()].filter((l) => (a.includeInactive || l.isActive) && (a.includeLegacy || !l.isFulfillmentService) && matchesSearch(a.query as string | undefined, { name: l.name, id: l.id }))),
        (l) => String(l.id),
        page(a),
        ctx.bulk,
      ),
    location: (_s, a, ctx) => {
      // Without an id Shopify returns the shop's primary location: here the first one created.
      if (a.id == null) return ctx.shop.locations.values().next().value ?? null;
      return ctx.shop.locations.get(idOf(a.id as string, 'Location') ?? -1) ?? null;
    },
    order: (_s, a, ctx) => ctx.shop.orders.get(idOf(a.id as string, 'Order') ?? -1) ?? null,
    orders: (_s, a, ctx) =>
      paginate(
        rootWindow(ctx, [...ctx.shop.orders.values()].filter((o) =>
          matchesSearch(a.query as string | undefined, {
            id: o.id,
            updated_at: o.updatedAt,
            created_at: o.createdAt,
            status: o.cancelledAt ? 'cancelled' : 'open',
            fulfillment_status: fulfillmentStatus(o) ?? 'unfulfilled',
            source_name: o.sourceName,
          }),
        )),
        (o) => String(o.id),
        page(a),
        ctx.bulk,
      ),
    fulfillmentOrder: (_s, a, ctx) => findFulfillmentOrder(ctx.shop, idOf(a.id as string, 'FulfillmentOrder') ?? -1) ?? null,
    bulkOperation: (_s, a, ctx) => ctx.shop.bulkOperations.get(idOf(a.id as string, 'BulkOperation') ?? -1) ?? null,
    currentBulkOperation: (_s, a, ctx) =>
      [...ctx.shop.bulkOperations.values()].filter((b) => b.type === ((a.type as string) ?? 'QUERY')).at(-1) ?? null,
  },
  Mutation: {
    inventorySetQuantities: (_s, a, ctx, info) =>
      idempotent(ctx, info, () => setQuantities(ctx.shop, a.input as SetInput, ctx.newId, ctx.now)),
    inventoryAdjustQuantities: (_s, a, ctx, info) =>
      idempotent(ctx, info, () => adjustQuantities(ctx.shop, a.input as AdjustInput, ctx.newId, ctx.now)),
    inventoryMoveQuantities: (_s, a, ctx, info) =>
      idempotent(ctx, info, () => moveQuantities(ctx.shop, a.input as MoveInput, ctx.newId, ctx.now)),
    bulkOperationRunQuery: (_s, a, ctx) => {
      const { op, userErrors } = ctx.startBulk(ctx.shop, a.query as string, a.groupObjects as boolean);
      return { bulkOperation: op, userErrors };
    },
    bulkOperationCancel: (_s, a, ctx) => {
      const op = ctx.cancelBulk(ctx.shop, idOf(a.id as string, 'BulkOperation') ?? -1);
      return op
        ? { bulkOperation: op, userErrors: [] }
        : { bulkOperation: null, userErrors: [{ code: 'INVALID', field: ['id'], message: 'Bulk operation does not exist' }] };
    },
  },
  Location: {
    id: (l: LocationRecord) => gid('Location', l.id),
    inventoryLevels: (l: LocationRecord, a, ctx) =>
      paginate(ctx.shop.levelsAtLocation(l.id).filter((x) => x.isActive), (x) => String(x.itemId), page(a), ctx.bulk),
    inventoryLevel: (l: LocationRecord, a, ctx) => ctx.shop.level(idOf(a.inventoryItemId as string, 'InventoryItem') ?? -1, l.id) ?? null,
  },
  InventoryItem: {
    id: (i: InventoryItemRecord) => gid('InventoryItem', i.id),
    variant: (i: InventoryItemRecord, _a, ctx) => ctx.shop.variants.get(i.variantId),
    inventoryLevels: (i: InventoryItemRecord, a, ctx) =>
      paginate(ctx.shop.levelsOfItem(i.id).filter((x) => x.isActive), (x) => String(x.locationId), page(a), ctx.bulk),
    inventoryLevel: (i: InventoryItemRecord, a, ctx) => ctx.shop.level(i.id, idOf(a.locationId as string, 'Location') ?? -1) ?? null,
  },
  InventoryLevel: {
    id: (l: LevelRecord) => levelGid(l.locationId, l.itemId),
    item: (l: LevelRecord, _a, ctx) => ctx.shop.items.get(l.itemId),
    location: (l: LevelRecord, _a, ctx) => ctx.shop.locations.get(l.locationId),
    updatedAt: (l: LevelRecord) => levelUpdatedAt(l),
    quantities: (l: LevelRecord, a) =>
      (a.names as string[]).map((name) => {
        if (!isQuantityName(name)) throw new GraphQLError(`Invalid quantity name: ${name}`, { extensions: { code: 'BAD_REQUEST' } });
        return {
          id: `gid://shopify/InventoryQuantity/${l.locationId}?inventory_item_id=${l.itemId}&name=${name}`,
          name,
          quantity: quantityOf(l, name),
          updatedAt: l.updatedAt[name],
        };
      }),
  },
  ProductVariant: {
    id: (v: VariantRecord) => gid('ProductVariant', v.id),
    inventoryItem: (v: VariantRecord, _a, ctx) => ctx.shop.items.get(v.inventoryItemId),
    product: (v: VariantRecord, _a, ctx) => ctx.shop.products.get(v.productId),
    inventoryPolicy: (v: VariantRecord, _a, ctx) => (ctx.shop.items.get(v.inventoryItemId)?.allowOversell ? 'CONTINUE' : 'DENY'),
  },
  Product: {
    id: (p: ProductRecord) => gid('Product', p.id),
    variants: (p: ProductRecord, a, ctx) =>
      paginate([...ctx.shop.variants.values()].filter((v) => v.productId === p.id), (v) => String(v.id), page(a), ctx.bulk),
  },
  Order: {
    id: (o: Order) => gid('Order', o.id),
    displayFulfillmentStatus: (o: Order) => {
      const status = fulfillmentStatus(o);
      return status === 'fulfilled' ? 'FULFILLED' : status === 'partial' ? 'PARTIALLY_FULFILLED' : 'UNFULFILLED';
    },
    lineItems: (o: Order, a, ctx) => paginate(o.lineItems, (l) => String(l.id), page(a), ctx.bulk),
    fulfillmentOrders: (o: Order, a, ctx) => paginate(o.fulfillmentOrders, (f) => String(f.id), page(a), ctx.bulk),
  },
  LineItem: {
    id: (l: LineItemRecord) => gid('LineItem', l.id),
    unfulfilledQuantity: (l: LineItemRecord) => Math.max(0, l.currentQuantity - l.fulfilledQuantity),
    variant: (l: LineItemRecord, _a, ctx) => ctx.shop.variants.get(l.variantId) ?? null,
  },
  FulfillmentOrder: {
    id: (f: FulfillmentOrderRecord) => gid('FulfillmentOrder', f.id),
    order: (f: FulfillmentOrderRecord, _a, ctx) => ctx.shop.orders.get(f.orderId),
    assignedLocation: (f: FulfillmentOrderRecord, _a, ctx) => {
      const location = ctx.shop.locations.get(f.locationId) ?? null;
      return { name: location?.name ?? '', location };
    },
    lineItems: (f: FulfillmentOrderRecord, a, ctx) => paginate(f.lines, (l) => String(l.id), page(a), ctx.bulk),
  },
  FulfillmentOrderLineItem: {
    id: (l: FulfillmentOrderLineRecord) => gid('FulfillmentOrderLineItem', l.id),
    lineItem: (l: FulfillmentOrderLineRecord, _a, ctx) => findLineItem(ctx.shop, l.lineItemId),
    sku: (l: FulfillmentOrderLineRecord, _a, ctx) => findLineItem(ctx.shop, l.lineItemId)?.sku ?? null,
  },
  BulkOperation: {
    id: (b: BulkOperationRecord) => gid('BulkOperation', b.id),
    objectCount: (b: BulkOperationRecord) => String(b.objectCount),
    rootObjectCount: (b: BulkOperationRecord) => String(b.rootObjectCount),
    fileSize: (b: BulkOperationRecord) => (b.fileSize === null ? null : String(b.fileSize)),
    url: (b: BulkOperationRecord, _a, ctx) => ctx.bulkUrl(ctx.shop, b),
  },
  InventoryAdjustmentGroup: {
    id: (g: AdjustmentGroupRecord) => gid('InventoryAdjustmentGroup', g.id),
    changes: (g: AdjustmentGroupRecord, a, ctx) => {
      const itemIds = (a.inventoryItemIds as string[] | undefined)?.map((x) => idOf(x, 'InventoryItem'));
      const locIds = (a.locationIds as string[] | undefined)?.map((x) => idOf(x, 'Location'));
      const names = a.quantityNames as string[] | undefined;
      return g.changes
        .filter((c) => (!itemIds || itemIds.includes(c.itemId)) && (!locIds || locIds.includes(c.locationId)) && (!names || names.includes(c.name)))
        .map((c) => ({
          name: c.name,
          delta: c.delta,
          quantityAfterChange: c.quantityAfterChange,
          ledgerDocumentUri: c.ledgerDocumentUri ?? null,
          item: ctx.shop.items.get(c.itemId) ?? null,
          location: ctx.shop.locations.get(c.locationId) ?? null,
        }));
    },
  },
};

export const fieldResolver: GraphQLFieldResolver<unknown, RequestContext> = (source, args, ctx, info) => {
  const r = resolvers[info.parentType.name]?.[info.fieldName];
  return r ? r(source as never, args, ctx, info) : defaultFieldResolver(source, args, ctx, info);
};

export const typeResolver: GraphQLTypeResolver<unknown, RequestContext> = (value) =>
  (value as { __typename?: string } | null)?.__typename;
