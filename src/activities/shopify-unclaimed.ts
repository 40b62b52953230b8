import type { Db } from '../db/pool.js';
import { skuLocationKey, type SkuLocation } from '../domain/sku-location.js';

/**
 * Shopify orders Shopify has counted and we have not yet: an order moves units from `available` to `committed`
 * the moment it is placed, and we hear of it only when its webhook has been handled and its lines claimed. A
 * refresh that ran in between would compute ATS without that order and hand its units back to `available`.
 *
 * So when a write finds Shopify's `available` moved (a stale compare) it keeps Shopify's `committed` from the same
 * read, and every ATS written while that reading is kept subtracts `max(0, committed - held)`, where `held` is
 * what our Shopify-origin claim lines still hold at the key (claimed, plus allocated and not yet shipped). Once
 * the claims have caught up (nothing unclaimed) the reading is dropped, so no read is ever added for it.
 */

/** Units our claim lines of Shopify orders still hold, per key (absent: none). */
export async function heldForShopifyOrders(db: Db, shopId: string, keys: SkuLocation[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const { rows } = await db.query<{ sku: string; location_id: string; held: number }>(
    `SELECT c.sku, c.location_id, sum(c.claimed + greatest(0, c.allocated - c.fulfilled))::int AS held
       FROM claim_lines c
       JOIN reservations r ON r.shop_id = c.shop_id AND r.order_id = c.order_id AND r.origin = 'shopify'
       JOIN unnest($2::text[], $3::text[]) AS k(sku, location_id) ON k.sku = c.sku AND k.location_id = c.location_id
      WHERE c.shop_id = $1
      GROUP BY c.sku, c.location_id`,
    [shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
  return new Map(rows.map((r) => [skuLocationKey({ sku: r.sku, locationId: r.location_id }), r.held]));
}

export function unclaimedUnits(committed: number, held: number): number {
  return Math.max(0, committed - held);
}
