import type { Db } from '../db/pool.js';
import { rememberFulfillmentOrders } from '../db/fulfillment-orders.js';
import { mappingsOfVariants } from '../db/mappings.js';
import { claimLineId, type ClaimLine, type OrderLineRef } from '../domain/reservation-model.js';
import type { AdjustAvailableResult } from '../shopify/client/inventory.js';
import type { AdjustAvailableChange, AdjustAvailableOptions, OrderFulfillment } from '../shopify/client/types.js';

/** What the reservation activities need from a shop's Admin API; the budget-aware client implements it. */
export interface ShopifyOrderPort {
  /** `lineCount` (from the webhook) sizes the query; without it the read pages at 5 fulfillment orders x 60 lines. */
  fetchOrderFulfillment(orderId: string, opts?: { lineCount?: number }): Promise<OrderFulfillment | null>;
  /** The shop's only active location as Shopify lists it (cached by the client), or null when it has more than one. */
  singleActiveLocation?(): Promise<string | null>;
  adjustAvailable(changes: AdjustAvailableChange[], opts: AdjustAvailableOptions): Promise<AdjustAvailableResult[]>;
}

export interface OrderLocationDeps {
  db: Db;
  shopify: (shopId: string) => ShopifyOrderPort;
}

export interface ResolveShopifyLinesInput {
  shopId: string;
  orderId: string;
  posShopifyLocationId?: string | null;
  /** From the webhook: used for POS orders, whose location the order carries. */
  lines?: OrderLineRef[];
}

export interface ResolvedLines {
  /** False when Shopify no longer knows the order. */
  found: boolean;
  lines: ClaimLine[];
  /** `variant@location` pairs with no mapping: not claimed, reported. */
  unmapped: string[];
}

/** Units of fulfillment orders in these states are still committed at their assigned location. */
const COMMITTED_STATUSES = new Set(['OPEN', 'IN_PROGRESS', 'SCHEDULED', 'ON_HOLD', 'INCOMPLETE']);

export function numericId(id: string | number): string {
  return String(id).replace(/^gid:\/\/shopify\/[A-Za-z]+\//, '');
}

const gid = (type: string, id: string | number) => `gid://shopify/${type}/${numericId(id)}`;

/** variant@shopifyLocation -> our (sku, location); mappings may hold gids or bare numbers. */
async function mapPairs(db: Db, shopId: string, variants: string[]): Promise<Map<string, { sku: string; locationId: string }>> {
  const forms = [...new Set(variants.flatMap((v) => [numericId(v), gid('ProductVariant', v)]))];
  const rows = await mappingsOfVariants(db, shopId, forms);
  return new Map(rows.map((r) => [`${numericId(r.variantId)}@${numericId(r.shopifyLocationId)}`, { sku: r.sku, locationId: r.locationId }]));
}

/** The shop's only active Shopify location, when the port can tell (the client caches it per shop). */
async function onlyLocation(deps: OrderLocationDeps, shopId: string): Promise<string | null> {
  const port = deps.shopify(shopId);
  return port.singleActiveLocation ? port.singleActiveLocation() : null;
}

/**
 * Where each line of a Shopify order is committed, in our sku and location terms. Line items carry no location:
 * POS orders carry the order's location; in a shop with one active location every line is committed there; every
 * other order is read from its fulfillment orders, whose assigned location is where Shopify committed the units
 * (and follows a move), in a query sized from the webhook's line count.
 */
export async function resolveShopifyLines(deps: OrderLocationDeps, input: ResolveShopifyLinesInput): Promise<ResolvedLines> {
  const placed: { lineId: string; variantId: string; shopifyLocationId: string; quantity: number; fulfilled: number }[] = [];
  if (input.posShopifyLocationId) {
    for (const l of input.lines ?? []) {
      if (l.variantId) placed.push({ lineId: numericId(l.lineId), variantId: l.variantId, shopifyLocationId: input.posShopifyLocationId, quantity: l.quantity, fulfilled: 0 });
    }
  } else if (input.lines && input.lines.length > 0 && input.lines.every((l) => l.variantId && l.fulfillable !== undefined) && (await onlyLocation(deps, input.shopId))) {
    // One active location in the shop (Shopify says so, not our mappings): every unit of the order is committed
    // there, so the webhook's lines say all the fulfillment orders would. No read.
    const location = (await onlyLocation(deps, input.shopId))!;
    for (const l of input.lines) {
      if (l.fulfillable! > 0) {
        placed.push({ lineId: numericId(l.lineId), variantId: l.variantId!, shopifyLocationId: location, quantity: l.fulfillable!, fulfilled: Math.max(0, l.quantity - l.fulfillable!) });
      }
    }
  } else {
    const lineCount = input.lines && input.lines.length > 0 ? input.lines.length : undefined;
    const fulfillment = await deps.shopify(input.shopId).fetchOrderFulfillment(gid('Order', input.orderId), lineCount === undefined ? {} : { lineCount });
    if (!fulfillment) return { found: false, lines: [], unmapped: [] };
    const foIds = fulfillment.fulfillmentOrders.map((fo) => numericId(fo.id));
    await rememberFulfillmentOrders(deps.db, input.shopId, foIds, input.orderId);
    for (const fo of fulfillment.fulfillmentOrders) {
      if (!COMMITTED_STATUSES.has(fo.status.toUpperCase()) || !fo.locationId) continue;
      for (const l of fo.lines) {
        if (l.remainingQuantity > 0 && l.variantId) {
          const fulfilled = Math.max(0, l.totalQuantity - l.remainingQuantity);
          placed.push({ lineId: numericId(l.lineItemId), variantId: l.variantId, shopifyLocationId: fo.locationId, quantity: l.remainingQuantity, fulfilled });
        }
      }
    }
  }
  const mapping = await mapPairs(deps.db, input.shopId, placed.map((p) => p.variantId));
  const lines = new Map<string, ClaimLine>();
  const unmapped: string[] = [];
  for (const p of placed) {
    const ours = mapping.get(`${numericId(p.variantId)}@${numericId(p.shopifyLocationId)}`);
    if (!ours) {
      unmapped.push(`${numericId(p.variantId)}@${numericId(p.shopifyLocationId)}`);
      continue;
    }
    const id = claimLineId(p.lineId, ours.locationId);
    const prev = lines.get(id);
    lines.set(id, { lineId: id, sku: ours.sku, locationId: ours.locationId, quantity: (prev?.quantity ?? 0) + p.quantity, fulfilled: (prev?.fulfilled ?? 0) + p.fulfilled });
  }
  return { found: true, lines: [...lines.values()], unmapped };
}
