import type { Db } from './pool.js';

/**
 * What we have taken from Shopify's available for an order from another channel, per claim line: the units
 * applied so far and the sequence number of the next adjustment (part of its idempotency key).
 */
export interface AdjustableLine {
  lineId: string;
  sku: string;
  locationId: string;
  claimed: number;
  allocated: number;
  shopifyAdjusted: number;
  shopifyAdjustSeq: number;
  /** Null when the line's key has no mapping. */
  inventoryItemId: string | null;
  shopifyLocationId: string | null;
}

/**
 * One adjustment of an order at a time: held until the caller's transaction ends (a crashed holder's connection
 * closes, and the lock with it).
 */
export async function lockOrderAdjustments(tx: Pick<Db, 'query'>, shopId: string, orderId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`shopify-adjust:${shopId}:${orderId}`]);
}

export async function adjustableLines(db: Pick<Db, 'query'>, shopId: string, orderId: string): Promise<AdjustableLine[]> {
  const { rows } = await db.query<{
    line_id: string; sku: string; location_id: string; claimed: number; allocated: number;
    shopify_adjusted: number; shopify_adjust_seq: number; inventory_item_id: string | null; shopify_location_id: string | null;
  }>(
    `SELECT c.line_id, c.sku, c.location_id, c.claimed, c.allocated, c.shopify_adjusted, c.shopify_adjust_seq,
            m.inventory_item_id, m.shopify_location_id
       FROM claim_lines c LEFT JOIN mappings m USING (shop_id, sku, location_id)
      WHERE c.shop_id = $1 AND c.order_id = $2 ORDER BY c.line_id`,
    [shopId, orderId],
  );
  return rows.map((r) => ({
    lineId: r.line_id, sku: r.sku, locationId: r.location_id, claimed: r.claimed, allocated: r.allocated,
    shopifyAdjusted: r.shopify_adjusted, shopifyAdjustSeq: r.shopify_adjust_seq,
    inventoryItemId: r.inventory_item_id, shopifyLocationId: r.shopify_location_id,
  }));
}

/**
 * Records what Shopify now holds taken for these lines, each only if its sequence number is still the one the
 * adjustment was keyed with (a later adjustment already recorded wins).
 */
export async function recordAdjustments(db: Pick<Db, 'query'>, shopId: string, orderId: string, lines: { lineId: string; target: number; seq: number }[]): Promise<void> {
  await db.query(
    `UPDATE claim_lines c SET shopify_adjusted = u.target, shopify_adjust_seq = c.shopify_adjust_seq + 1, updated_at = now()
       FROM unnest($3::text[], $4::int[], $5::int[]) AS u(line_id, target, seq)
      WHERE c.shop_id = $1 AND c.order_id = $2 AND c.line_id = u.line_id AND c.shopify_adjust_seq = u.seq`,
    [shopId, orderId, lines.map((l) => l.lineId), lines.map((l) => l.target), lines.map((l) => l.seq)],
  );
}
