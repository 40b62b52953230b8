import type { Db } from './pool.js';

/** The order one of these fulfillment orders belongs to, as recorded when its workflow read them; null if none is known. */
export async function orderOfFulfillmentOrders(db: Pick<Db, 'query'>, shopId: string, fulfillmentOrderIds: string[]): Promise<string | null> {
  const { rows } = await db.query<{ order_id: string }>(
    'SELECT order_id FROM order_fulfillment_orders WHERE shop_id = $1 AND fulfillment_order_id = ANY($2::text[]) LIMIT 1',
    [shopId, fulfillmentOrderIds],
  );
  return rows[0]?.order_id ?? null;
}

/** Remembers which order these fulfillment orders belong to (their webhooks name only the fulfillment order). */
export async function rememberFulfillmentOrders(db: Pick<Db, 'query'>, shopId: string, fulfillmentOrderIds: string[], orderId: string): Promise<void> {
  if (fulfillmentOrderIds.length === 0) return;
  await db.query(
    `INSERT INTO order_fulfillment_orders (shop_id, fulfillment_order_id, order_id) SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`,
    [shopId, fulfillmentOrderIds, orderId],
  );
}
