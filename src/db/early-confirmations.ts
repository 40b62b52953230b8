import type { PoolClient } from 'pg';
import { inTransaction, type Db } from './pool.js';
import { skuLocationKey, type SkuLocation } from '../domain/sku-location.js';
import type { ClaimLineStatus } from '../domain/reservation-model.js';

/**
 * WMS confirmations that came before their order (docs/reservations.md, "Confirmed before the order"). The route
 * records every confirmation in `wms_allocations`; the hand-off sweeper acts on it only when the order has a
 * reservation (it converts it, then signals the order's workflow), so a confirmation of an order we have not seen
 * starts nothing (a WMS confirming 1,000 new orders a second used to start 1,000 workflows a second, and a WMS
 * token could start a 24-hour workflow for any order id). The order's first claim takes such confirmations over (`adoptEarlyConfirmations`).
 *
 * The two must not miss each other. Every transaction that may give an order its first claim line (`applyClaims`,
 * `convertAllocation`) takes the order's lock (`order_claim_key`) in its first statement and reads the
 * confirmations in a later one; the sweeper tries the same lock, shared, before it looks for reservations
 * (`lookForOrders`). If the try fails, a claim is in flight: the confirmation is signalled. If it succeeds,
 * either a claim committed before it (the look sees its reservation: converted, then signalled), or the next
 * claim takes the lock after the sweeper's transaction ends, so its read comes after the look, which came after the
 * route's commit: the claim sees the confirmation.
 */

/**
 * The first statement of a transaction that may give an order its first claim line: the order's lock, before any
 * row lock (a claim that locked its lines first and then waited here could deadlock with one holding this lock and
 * waiting for those lines).
 */
export async function lockOrderClaims(client: PoolClient, shopId: string, orderId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(order_claim_key($1, $2))', [shopId, orderId]);
}

/** lockOrderClaims, then whether the order has no claim line yet (`convertAllocation`). */
export async function lockOrderClaimsFirst(client: PoolClient, shopId: string, orderId: string): Promise<{ firstClaim: boolean }> {
  await lockOrderClaims(client, shopId, orderId);
  const { rows } = await client.query<{ first: boolean }>('SELECT NOT EXISTS (SELECT 1 FROM claim_lines WHERE shop_id = $1 AND order_id = $2) AS first', [shopId, orderId]);
  return { firstClaim: rows[0]!.first };
}

export interface OrderRef {
  shopId: string;
  orderId: string;
}

/** One order's key in maps and sets (the shop and the order id). */
export const orderKey = (o: OrderRef) => `${o.shopId}\u0000${o.orderId}`;

/** What the hand-off sweeper found of an order when it looked (lookForOrders). */
export type OrderSeen =
  /** Its first claim is in flight (its lock is taken, no reservation yet): its workflow runs, and the confirmation goes to it. */
  | 'claimInFlight'
  /** It has a reservation: the sweeper converts the confirmation itself (src/starters/http/confirmations.ts). */
  | 'reserved'
  /** Neither: the confirmation waits in wms_allocations for the order's claim. */
  | 'unseen';

/**
 * What the sweeper found of each of these orders. The locks are tried, never waited for: a sweep holding shared
 * locks while it waited for another order's claim could close a cycle with claims that wait on it, and would stall
 * its batch behind the slowest claim. One short transaction: the tries, then the look (a second statement: it sees
 * the reservations of claims committed before its tries). An order with a reservation is 'reserved' whether or
 * not its lock is taken (the conversion tries the lock again, and converts a busy order after the others).
 */
export async function lookForOrders(db: Db, orders: OrderRef[]): Promise<(o: OrderRef) => OrderSeen> {
  const unique = [...new Map(orders.map((o) => [orderKey(o), o])).values()];
  const found = new Map<string, OrderSeen>();
  if (unique.length > 0) {
    const shops = unique.map((o) => o.shopId);
    const ids = unique.map((o) => o.orderId);
    await inTransaction(db, async (client) => {
      const tried = await client.query<{ s: string; o: string; locked: boolean }>(
        `SELECT s, o, pg_try_advisory_xact_lock_shared(order_claim_key(s, o)) AS locked FROM unnest($1::text[], $2::text[]) AS t(s, o)`,
        [shops, ids],
      );
      const { rows } = await client.query<{ shop_id: string; order_id: string }>(
        `SELECT r.shop_id, r.order_id FROM reservations r JOIN unnest($1::text[], $2::text[]) AS t(s, o) ON r.shop_id = t.s AND r.order_id = t.o`,
        [shops, ids],
      );
      for (const r of tried.rows) if (!r.locked) found.set(orderKey({ shopId: r.s, orderId: r.o }), 'claimInFlight');
      for (const r of rows) found.set(orderKey({ shopId: r.shop_id, orderId: r.order_id }), 'reserved');
    });
  }
  return (o) => found.get(orderKey(o)) ?? 'unseen';
}

/**
 * Converts what is due for these keys of one WMS source (its allocated total is as new as the confirmation): the
 * key's snapshot rows locked first, in the order the snapshot writer locks them, then `convert_due_wms_allocations`
 * per row (migration 1764489700000). Returns the units moved from claimed to allocated.
 */
export async function convertDueAtKeys(client: PoolClient, source: string, shopId: string, keys: SkuLocation[], afterLocked?: () => Promise<void>): Promise<number> {
  const sorted = [...keys].sort((x, y) => skuLocationKey(x).localeCompare(skuLocationKey(y)));
  const snapshots = await client.query<{ sku: string; location_id: string; occurred_at: Date }>(
    `SELECT s.sku, s.location_id, s.occurred_at FROM source_snapshots s
       JOIN unnest($3::text[], $4::text[]) AS k(sku, location_id) USING (sku, location_id)
      WHERE s.source = $1 AND s.shop_id = $2 ORDER BY s.shop_id, s.sku, s.location_id FOR UPDATE OF s`,
    [source, shopId, sorted.map((k) => k.sku), sorted.map((k) => k.locationId)],
  );
  await afterLocked?.();
  let converted = 0;
  for (const snap of snapshots.rows) {
    const { rows } = await client.query<{ n: number }>('SELECT convert_due_wms_allocations($1, $2, $3, $4, $5) AS n', [source, shopId, snap.sku, snap.location_id, snap.occurred_at]);
    converted += rows[0]?.n ?? 0;
  }
  return converted;
}

/**
 * In a claim transaction that holds the order's lock: the confirmations no workflow has applied whose line the
 * order did not have when the transaction began (`linesBefore`; null: none are taken over). Each gets its claim
 * line (claimed 0 where the order has no such line; a line the order has keeps the order's SKU, and a confirmation
 * of another SKU is never applied), then whatever the WMS total already shows is converted, as `convertAllocation`
 * does on a signal. Returns the keys they touch (the caller's refresh owes them) and the units converted.
 *
 * Every claim, not only the first: a Shopify order's claim can trail its checkout by seconds on a Standard-plan
 * shop, and its later claims still take over what came meanwhile. A claim that locked existing lines takes the
 * snapshot rows' locks after them, which can deadlock with a snapshot writer converting into those lines;
 * PostgreSQL then aborts one of the two and it is retried. The sweeper's look and its batch conversion only try the
 * order locks, and the batch locks every snapshot row it needs before it converts, so neither is in such a cycle.
 */
export async function adoptEarlyConfirmations(client: PoolClient, shopId: string, orderId: string, linesBefore: ReadonlySet<string> | null): Promise<{ keys: SkuLocation[]; converted: number }> {
  if (linesBefore === null) return { keys: [], converted: 0 };
  const { rows } = await client.query<{ source: string; line_id: string; sku: string; location_id: string }>(
    `SELECT DISTINCT source, line_id, sku, location_id FROM wms_allocations
      WHERE shop_id = $1 AND order_id = $2 AND applied_at IS NULL ORDER BY line_id, source, sku, location_id`,
    [shopId, orderId],
  );
  const early = rows.filter((r) => !linesBefore.has(r.line_id));
  if (early.length === 0) return { keys: [], converted: 0 };
  const lines = [...new Map(early.map((r) => [r.line_id, r])).values()];
  await client.query(
    `INSERT INTO claim_lines (shop_id, order_id, line_id, sku, location_id, claimed)
     SELECT $1, $2, l.line_id, l.sku, l.location_id, 0 FROM unnest($3::text[], $4::text[], $5::text[]) AS l(line_id, sku, location_id)
     ON CONFLICT DO NOTHING`,
    [shopId, orderId, lines.map((l) => l.line_id), lines.map((l) => l.sku), lines.map((l) => l.location_id)],
  );
  const bySource = new Map<string, Map<string, SkuLocation>>();
  for (const r of early) {
    const keys = bySource.get(r.source) ?? new Map<string, SkuLocation>();
    keys.set(skuLocationKey({ sku: r.sku, locationId: r.location_id }), { sku: r.sku, locationId: r.location_id });
    bySource.set(r.source, keys);
  }
  const touched = new Map<string, SkuLocation>();
  let converted = 0;
  for (const source of [...bySource.keys()].sort()) {
    const keys = [...bySource.get(source)!.values()];
    converted += await convertDueAtKeys(client, source, shopId, keys);
    for (const k of keys) touched.set(skuLocationKey(k), k);
  }
  return { keys: [...touched.values()], converted };
}

export interface OrderNeverArrived {
  shopId: string;
  orderId: string;
  /** Confirmation lines waiting, their units, and when the first came. */
  lines: number;
  units: number;
  firstAt: Date;
}

/**
 * Orders a WMS confirmed more than `olderThan` ago that never came (no reservation) and were not alerted yet: what
 * the order's expiry timer reported when a confirmation started a workflow. Oldest first, at most `limit`.
 */
export async function ordersNeverArrived(db: Pick<Db, 'query'>, olderThan: Date, limit: number): Promise<OrderNeverArrived[]> {
  const { rows } = await db.query<{ shop_id: string; order_id: string; lines: number; units: number; first_at: Date }>(
    `SELECT a.shop_id, a.order_id, count(*)::int AS lines, sum(a.quantity)::int AS units, min(a.received_at) AS first_at
       FROM wms_allocations a
      WHERE a.applied_at IS NULL AND a.received_at < $1
        AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.shop_id = a.shop_id AND r.order_id = a.order_id)
        -- already alerted (the alert's dedupe key, src/alerts/raise.ts): each run gets on to the next orders
        AND NOT EXISTS (SELECT 1 FROM alerts al WHERE al.dedupe_key = '["reservation_expired",' || to_json(a.shop_id)::text || ',' || to_json(a.order_id)::text || ']')
      GROUP BY a.shop_id, a.order_id ORDER BY min(a.received_at) LIMIT $2`,
    [olderThan, limit],
  );
  return rows.map((r) => ({ shopId: r.shop_id, orderId: r.order_id, lines: r.lines, units: r.units, firstAt: r.first_at }));
}

/**
 * The confirmations an order we have not seen is waiting with, as the lines of a `pending` reservation (units
 * awaiting the WMS total, nothing claimed): what the status route shows for it. Empty when there are none.
 */
export async function earlyConfirmationLines(db: Pick<Db, 'query'>, shopId: string, orderId: string): Promise<ClaimLineStatus[]> {
  const { rows } = await db.query<{ line_id: string; sku: string; location_id: string; units: number }>(
    `SELECT line_id, sku, location_id, sum(quantity)::int AS units FROM wms_allocations
      WHERE shop_id = $1 AND order_id = $2 AND applied_at IS NULL GROUP BY line_id, sku, location_id ORDER BY line_id, sku`,
    [shopId, orderId],
  );
  return rows.map((r) => ({ lineId: r.line_id, sku: r.sku, locationId: r.location_id, claimed: 0, allocated: 0, awaitingWms: r.units, shopifyAdjusted: 0 }));
}
