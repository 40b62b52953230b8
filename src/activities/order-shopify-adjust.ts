import { Errors } from '../domain/errors.js';
import { deriveIdempotencyKey } from '../shopify/client/idempotency.js';
import type { ShopifyOrderPort } from './order-locations.js';
import type { Db } from '../db/pool.js';
import { readReservation } from './claims.js';
import type { ClaimLineStatus } from '../domain/reservation-model.js';
import { raiseAlert } from './reservation-alerts.js';

export interface ShopifyAdjustDeps {
  db: Db;
  shopify: (shopId: string) => ShopifyOrderPort;
}

export interface SyncAdjustInput {
  shopId: string;
  orderId: string;
  /** Cancelled or expired: the units return to stock, so every unit we took from Shopify goes back. */
  release: boolean;
}

type Row = {
  line_id: string;
  sku: string;
  location_id: string;
  claimed: number;
  allocated: number;
  shopify_adjusted: number;
  shopify_adjust_seq: number;
  inventory_item_id: string | null;
  shopify_location_id: string | null;
};

/**
 * Orders from channels Shopify does not count (POST /orders): Shopify's available is lowered by the units the
 * order holds, and raised back by exactly what was applied when they return to stock. Each adjustment of a line
 * has a sequence number; its idempotency key is derived from (shop, order, line, sequence, delta), so an
 * activity retried after Shopify applied but before the row was updated replays instead of applying twice.
 * Units the WMS allocated or that shipped stay taken: they left available for good.
 */
export async function syncShopifyAdjustments(deps: ShopifyAdjustDeps, input: SyncAdjustInput): Promise<ClaimLineStatus[]> {
  const { rows } = await deps.db.query<Row>(
    `SELECT c.line_id, c.sku, c.location_id, c.claimed, c.allocated, c.shopify_adjusted, c.shopify_adjust_seq,
            m.inventory_item_id, m.shopify_location_id
       FROM claim_lines c LEFT JOIN mappings m USING (shop_id, sku, location_id)
      WHERE c.shop_id = $1 AND c.order_id = $2 ORDER BY c.line_id`,
    [input.shopId, input.orderId],
  );
  for (const r of rows) {
    const target = input.release ? 0 : r.claimed + r.allocated;
    const delta = target - r.shopify_adjusted;
    if (delta === 0) continue;
    if (!r.inventory_item_id || !r.shopify_location_id) {
      await raiseAlert(deps.db, { kind: 'unmapped_order_line', shopId: input.shopId, subject: `${input.orderId}/${r.line_id}`, details: { sku: r.sku, locationId: r.location_id } });
      continue;
    }
    const operation = delta > 0 ? 'claim' : 'release';
    const idempotencyKey = deriveIdempotencyKey({
      shopDomain: input.shopId,
      mutation: 'reservation-adjust',
      salt: operation,
      content: { order: input.orderId, line: r.line_id, seq: r.shopify_adjust_seq, delta },
    });
    try {
      await deps.shopify(input.shopId).adjustAvailable(
        [{ inventoryItemId: r.inventory_item_id, locationId: r.shopify_location_id, delta: -delta, changeFromQuantity: null }],
        { idempotencyKey, reason: 'correction', referenceDocumentUri: `gid://inventory-sync/Order/${encodeURIComponent(input.orderId)}` },
      );
    } catch (err) {
      // Shopify refusing the quantity (it would go negative) is not retryable; the refresh sets ATS anyway.
      if (!Errors.ShopifyUserError.is(err)) throw err;
      await raiseAlert(deps.db, { kind: 'order_adjust_refused', shopId: input.shopId, subject: `${input.orderId}/${r.line_id}`, details: { delta: -delta, message: err.message } });
      continue;
    }
    await deps.db.query(
      `UPDATE claim_lines SET shopify_adjusted = $4, shopify_adjust_seq = shopify_adjust_seq + 1, updated_at = now()
        WHERE shop_id = $1 AND order_id = $2 AND line_id = $3 AND shopify_adjust_seq = $5`,
      [input.shopId, input.orderId, r.line_id, target, r.shopify_adjust_seq],
    );
  }
  return (await readReservation(deps.db, input.shopId, input.orderId))?.lines ?? [];
}
