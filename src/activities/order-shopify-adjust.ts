import { Errors } from '../domain/errors.js';
import { deriveIdempotencyKey } from '../shopify/client/idempotency.js';
import type { ShopifyOrderPort } from './order-locations.js';
import { inTransaction, type Db } from '../db/pool.js';
import { readReservation } from '../db/claims.js';
import type { ClaimLineStatus } from '../domain/reservation-model.js';
import { raiseAlert, type AlertInput } from '../alerts/raise.js';
import { adjustableLines, lockOrderAdjustments, recordAdjustments, type AdjustableLine } from '../db/shopify-adjustments.js';

export interface ShopifyAdjustDeps {
  db: Db;
  shopify: (shopId: string) => ShopifyOrderPort;
  /** Test-only: runs right before an adjustment is sent to Shopify (where a stalled attempt resumes). */
  adjustRacePoints?: { beforeSend?(input: SyncAdjustInput): Promise<void> };
}

/**
 * What the steps of one adjustment run against: the transaction that holds the order's adjustment lock, and the
 * alerts they found, raised once it has committed. Never a second connection of the pool while the transaction
 * holds one: with as many adjustments refused at once as the pool has connections, each waited for another's
 * connection and none ever came back (bench/ingest, 2,000 channel orders at once, 2026-12-01).
 */
type TxDeps = Omit<ShopifyAdjustDeps, 'db'> & { db: Pick<Db, 'query'>; alerts: AlertInput[] };

export interface SyncAdjustInput {
  shopId: string;
  orderId: string;
  /** Cancelled or expired: the units return to stock, so every unit we took from Shopify goes back. */
  release: boolean;
}

/**
 * Orders from channels Shopify does not count (POST /orders): Shopify's available is lowered by the units the
 * order holds, and raised back by exactly what was applied when they return to stock. Each adjustment of a line
 * has a sequence number; its idempotency key is derived from (shop, order, line, sequence, delta), so an
 * activity retried after Shopify applied but before the row was updated replays instead of applying twice.
 * An order's lines go to Shopify in one call, keyed by every line's (line, sequence, delta).
 * Units the WMS allocated or that shipped stay taken: they left available for good.
 */
export async function syncShopifyAdjustments(deps: ShopifyAdjustDeps, input: SyncAdjustInput): Promise<ClaimLineStatus[]> {
  // One adjustment of an order at a time, from read to Shopify to the recorded result: deltas are computed from
  // what is committed, so an attempt Temporal gave up on that resumes late cannot send a delta its retry also
  // sent (the retry waits on the lock, then reads what the older attempt applied). A crashed attempt's
  // connection closes and its lock with it.
  const alerts: AlertInput[] = [];
  await inTransaction(deps.db, async (tx) => {
    await lockOrderAdjustments(tx, input.shopId, input.orderId);
    await adjustUnderLock({ ...deps, db: tx, alerts }, input);
  });
  for (const a of alerts) await raiseAlert(deps.db, a);
  return (await readReservation(deps.db, input.shopId, input.orderId))?.lines ?? [];
}

/** An alert names this many of an order's unmapped lines, and counts them all. */
const MAX_LINES_IN_ALERT = 20;

async function adjustUnderLock(deps: TxDeps, input: SyncAdjustInput): Promise<void> {
  const rows = await adjustableLines(deps.db, input.shopId, input.orderId);
  const due: Due[] = [];
  const unmapped: { lineId: string; sku: string; locationId: string }[] = [];
  for (const r of rows) {
    const target = input.release ? 0 : r.claimed + r.allocated;
    const delta = target - r.shopifyAdjusted;
    if (delta === 0) continue;
    if (!r.inventoryItemId || !r.shopifyLocationId) {
      unmapped.push({ lineId: r.lineId, sku: r.sku, locationId: r.locationId });
      continue;
    }
    due.push({ row: r, target, delta });
  }
  // One alert per order, as for a Shopify order's unmapped lines: one per line let a channel token raise 250 alerts
  // a request (a new order id each time), burying the alerts that matter.
  if (unmapped.length > 0) {
    deps.alerts.push({ kind: 'unmapped_order_line', shopId: input.shopId, subject: input.orderId, details: { lines: unmapped.slice(0, MAX_LINES_IN_ALERT), count: unmapped.length } });
  }
  // One Shopify call for the whole order (a line at a time spent a call per line: one order could drain the
  // shop's budget). A single line keeps the key it always had, so a retry across an upgrade still replays.
  if (due.length === 1) await adjustOne(deps, input, due[0]!);
  else if (due.length > 1) {
    try {
      await adjustAll(deps, input, due);
    } catch (err) {
      // Shopify refused the batch (a line would go negative): nothing applied; line by line, the refused one is alerted.
      if (!Errors.ShopifyUserError.is(err)) throw err;
      for (const d of due) await adjustOne(deps, input, d);
    }
  }
}

type Due = { row: AdjustableLine; target: number; delta: number };

const orderUri = (orderId: string) => `gid://inventory-sync/Order/${encodeURIComponent(orderId)}`;

async function adjustAll(deps: TxDeps, input: SyncAdjustInput, due: Due[]): Promise<void> {
  // Lines of one order can share an inventory item and location: Shopify takes each pair once per call.
  const byPair = new Map<string, { inventoryItemId: string; locationId: string; delta: number; changeFromQuantity: null }>();
  for (const { row, delta } of due) {
    const pair = `${row.inventoryItemId}|${row.shopifyLocationId}`;
    const entry = byPair.get(pair) ?? { inventoryItemId: row.inventoryItemId!, locationId: row.shopifyLocationId!, delta: 0, changeFromQuantity: null };
    entry.delta -= delta;
    byPair.set(pair, entry);
  }
  const changes = [...byPair.values()].filter((c) => c.delta !== 0);
  const idempotencyKey = deriveIdempotencyKey({
    shopDomain: input.shopId,
    mutation: 'reservation-adjust',
    salt: 'order',
    content: { order: input.orderId, lines: due.map((d) => [d.row.lineId, d.row.shopifyAdjustSeq, d.delta]) },
  });
  await deps.adjustRacePoints?.beforeSend?.(input);
  if (changes.length > 0) await deps.shopify(input.shopId).adjustAvailable(changes, { idempotencyKey, reason: 'correction', referenceDocumentUri: orderUri(input.orderId) });
  await recordAdjustments(deps.db, input.shopId, input.orderId, due.map((d) => ({ lineId: d.row.lineId, target: d.target, seq: d.row.shopifyAdjustSeq })));
}

async function adjustOne(deps: TxDeps, input: SyncAdjustInput, { row: r, target, delta }: Due): Promise<void> {
  const operation = delta > 0 ? 'claim' : 'release';
  const idempotencyKey = deriveIdempotencyKey({
    shopDomain: input.shopId,
    mutation: 'reservation-adjust',
    salt: operation,
    content: { order: input.orderId, line: r.lineId, seq: r.shopifyAdjustSeq, delta },
  });
  await deps.adjustRacePoints?.beforeSend?.(input);
  try {
    await deps.shopify(input.shopId).adjustAvailable(
      [{ inventoryItemId: r.inventoryItemId!, locationId: r.shopifyLocationId!, delta: -delta, changeFromQuantity: null }],
      { idempotencyKey, reason: 'correction', referenceDocumentUri: orderUri(input.orderId) },
    );
  } catch (err) {
    // Shopify refusing the quantity (it would go negative) is not retryable; the refresh sets ATS anyway.
    if (!Errors.ShopifyUserError.is(err)) throw err;
    deps.alerts.push({ kind: 'order_adjust_refused', shopId: input.shopId, subject: `${input.orderId}/${r.lineId}`, details: { delta: -delta, message: err.message } });
    return;
  }
  await recordAdjustments(deps.db, input.shopId, input.orderId, [{ lineId: r.lineId, target, seq: r.shopifyAdjustSeq }]);
}
