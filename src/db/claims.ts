import type { PoolClient } from 'pg';
import { inTransaction, type Db } from './pool.js';
import {
  isTerminal,
  stateOfLines,
  type ClaimLine,
  type ClaimLineStatus,
  type OrderOrigin,
  type ReservationState,
  type StoredReservation,
} from '../domain/reservation-model.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { adoptEarlyConfirmations, lockOrderClaims } from './early-confirmations.js';

export interface ClaimsDeps {
  db: Db;
  /** Test-only: runs inside a WMS conversion once the key's snapshot rows are locked (where a new total would race it). */
  conversionRacePoints?: { afterSnapshotLocked?(): Promise<void> };
  /** Test-only: runs in a claim transaction after its last read, before it commits (where a hand-off sweep races it). */
  claimRacePoints?: { beforeCommit?(): Promise<void> };
}

export interface ClaimsOutcome {
  state: ReservationState;
  lines: ClaimLineStatus[];
  /**
   * Keys the caller marks dirty so Shopify follows: every key the order (or the confirmation) has a line at, not
   * only those this call changed. A call is re-run when its worker died after the commit and before its result was
   * recorded; the re-run changes nothing, yet the refresh the first run owed was never handed over. (The field
   * keeps its name: recorded workflow histories carry it.)
   */
  changedKeys: SkuLocation[];
}

export interface ApplyClaimsInput {
  shopId: string;
  orderId: string;
  workflowId: string;
  origin: OrderOrigin;
  /** Every line the order holds now (a set, not a delta: a retried or repeated call changes nothing). */
  lines: ClaimLine[];
  /** A terminal state releases every claim; absent, the state follows the lines. */
  terminal?: ReservationState;
  lastEventAt: string | null;
  expiresAt: string | null;
}

export type LineRow = { shop_id: string; order_id: string; line_id: string; sku: string; location_id: string; claimed: number; allocated: number; fulfilled: number; awaiting_wms: number; shopify_adjusted: number };

export function toStatus(r: LineRow): ClaimLineStatus {
  return { lineId: r.line_id, sku: r.sku, locationId: r.location_id, claimed: r.claimed, allocated: r.allocated, awaitingWms: r.awaiting_wms, shopifyAdjusted: r.shopify_adjusted };
}

/** Claim lines with the units the WMS confirmed that its allocated total does not show yet. */
const LINES_SELECT = `
  SELECT c.shop_id, c.order_id, c.line_id, c.sku, c.location_id, c.claimed, c.allocated, c.fulfilled, c.shopify_adjusted,
         COALESCE((SELECT sum(a.quantity)::int FROM wms_allocations a
                    WHERE a.shop_id = c.shop_id AND a.order_id = c.order_id AND a.line_id = c.line_id AND a.applied_at IS NULL
                      AND a.sku = c.sku AND a.location_id = c.location_id), 0) AS awaiting_wms
    FROM claim_lines c`;
/** One order's lines ($1 shop, $2 order). */
const LINES_SQL = `${LINES_SELECT} WHERE c.shop_id = $1 AND c.order_id = $2 ORDER BY c.line_id`;
/** Many orders' lines ($1 shops, $2 orders, pairwise). */
export const LINES_OF_ORDERS_SQL = `${LINES_SELECT}
    JOIN unnest($1::text[], $2::text[]) AS t(s, o) ON c.shop_id = t.s AND c.order_id = t.o ORDER BY c.shop_id, c.order_id, c.line_id`;


/**
 * Locks the order's claim lines (in primary-key order, so concurrent writers cannot deadlock), then reads them
 * in a second statement: after waiting for a lock, only the second one's fresh snapshot sees the WMS
 * confirmations the other transaction committed.
 */
export async function lockLines(client: PoolClient, shopId: string, orderId: string): Promise<LineRow[]> {
  await client.query('SELECT 1 FROM claim_lines WHERE shop_id = $1 AND order_id = $2 ORDER BY line_id FOR UPDATE', [shopId, orderId]);
  return (await client.query<LineRow>(LINES_SQL, [shopId, orderId])).rows;
}

export async function readReservation(db: Db, shopId: string, orderId: string): Promise<StoredReservation | null> {
  const { rows } = await db.query<{ origin: OrderOrigin; state: ReservationState; last_event_at: Date | null; expires_at: Date | null }>(
    'SELECT origin, state, last_event_at, expires_at FROM reservations WHERE shop_id = $1 AND order_id = $2',
    [shopId, orderId],
  );
  const r = rows[0];
  if (!r) return null;
  const lines = await db.query<LineRow>(LINES_SQL, [shopId, orderId]);
  return {
    origin: r.origin,
    state: r.state,
    lastEventAt: r.last_event_at?.toISOString() ?? null,
    expiresAt: r.expires_at?.toISOString() ?? null,
    lines: lines.rows.map(toStatus),
  };
}

/** Creates the reservation row if absent (origin unknown yet counts as Shopify until an order event says). */
export async function ensureReservation(client: PoolClient, shopId: string, orderId: string, workflowId: string, origin: OrderOrigin): Promise<void> {
  await client.query(
    `INSERT INTO reservations (shop_id, order_id, origin, state, workflow_id) VALUES ($1, $2, $3, 'pending', $4)
     ON CONFLICT (shop_id, order_id) DO NOTHING`,
    [shopId, orderId, origin, workflowId],
  );
}

/**
 * Of the units the WMS allocated to a line, those still in its allocated total: a WMS ships what it allocated,
 * so shipped units are taken from the allocated ones first and leave that total. The conversion in SQL
 * (`convert_due_wms_allocations`, migration 1764489900000) applies the same rule.
 */
export function allocatedStillHeld(allocated: number, fulfilled: number): number {
  return Math.max(0, allocated - fulfilled);
}

/**
 * Makes the order's claim lines equal to what it holds now, in one transaction: claimed = quantity - the allocated
 * units not yet shipped (those are counted through wmsAllocated, never twice), lines gone from the order drop to zero.
 * A terminal state releases every claimed unit except those the WMS confirmed and its total does not show yet:
 * they stay counted here until that total takes them over (see claim-conversion.ts).
 */
export async function applyClaims(deps: ClaimsDeps, input: ApplyClaimsInput): Promise<ClaimsOutcome> {
  return inTransaction(deps.db, async (client) => {
    // The order's claim lock first: a confirmation the hand-off sweeper passed over (no reservation yet) is seen by
    // the reads below (early-confirmations.ts).
    await lockOrderClaims(client, input.shopId, input.orderId);
    // The reservation row and the lock on its lines in one round trip (this runs once per order in a sale).
    await client.query(
      `WITH reservation AS (
         INSERT INTO reservations (shop_id, order_id, origin, state, workflow_id, expires_at, last_event_at)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6)
         ON CONFLICT (shop_id, order_id) DO UPDATE SET origin = EXCLUDED.origin, updated_at = now(),
           expires_at = COALESCE(EXCLUDED.expires_at, reservations.expires_at),
           last_event_at = GREATEST(reservations.last_event_at, EXCLUDED.last_event_at))
       SELECT 1 FROM claim_lines WHERE shop_id = $1 AND order_id = $2 ORDER BY line_id FOR UPDATE`,
      [input.shopId, input.orderId, input.origin, input.workflowId, input.expiresAt, input.lastEventAt],
    );
    // A second statement, so its snapshot sees what a transaction we waited for committed (see lockLines).
    const existing = new Map((await client.query<LineRow>(LINES_SQL, [input.shopId, input.orderId])).rows.map((r) => [r.line_id, r]));
    const desired = new Map(input.terminal ? [] : input.lines.map((l) => [l.lineId, l]));
    const keys = new Map<string, SkuLocation>();
    const ids = [...new Set([...existing.keys(), ...desired.keys()])].sort();
    const writes: { id: string; sku: string; locationId: string; claimed: number; fulfilled: number }[] = [];
    for (const id of ids) {
      const want = desired.get(id);
      const had = existing.get(id);
      // The order says which SKU its line is. A line a WMS confirmation created before the order arrived carries
      // the SKU the confirmation named: if that was another SKU, the line takes the order's, and what was allocated
      // under the other SKU holds none of this one's units (claim_lines.allocated restarts at 0; the conversion only
      // ever applies confirmations of the line's own SKU, migration 1764491200000).
      const retagged = had !== undefined && want !== undefined && had.sku !== want.sku;
      const allocated = retagged ? 0 : (had?.allocated ?? 0);
      // Shipped units are recorded with the line: a WMS conversion later takes only what its total still holds.
      const fulfilled = want ? (want.fulfilled ?? 0) : (had?.fulfilled ?? 0);
      const claimed = want ? Math.max(0, want.quantity - allocatedStillHeld(allocated, fulfilled)) : Math.min(had?.claimed ?? 0, had?.awaiting_wms ?? 0);
      const sku = want?.sku ?? had!.sku;
      const locationId = had?.location_id ?? want!.locationId;
      keys.set(skuLocationKey({ sku, locationId }), { sku, locationId });
      if (retagged) keys.set(skuLocationKey({ sku: had.sku, locationId }), { sku: had.sku, locationId });
      if (had && !retagged && had.claimed === claimed && had.fulfilled === fulfilled) continue;
      if (!had && claimed === 0) continue;
      writes.push({ id, sku, locationId, claimed, fulfilled });
    }
    if (writes.length > 0) {
      // One statement for every changed line (ids are sorted, so rows are locked in key order).
      await client.query(
        `INSERT INTO claim_lines (shop_id, order_id, line_id, sku, location_id, claimed, fulfilled)
         SELECT $1, $2, w.line_id, w.sku, w.location_id, w.claimed, w.fulfilled
           FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::int[]) AS w(line_id, sku, location_id, claimed, fulfilled)
         ON CONFLICT (shop_id, order_id, line_id) DO UPDATE SET claimed = EXCLUDED.claimed, fulfilled = EXCLUDED.fulfilled, updated_at = now(),
           sku = EXCLUDED.sku, allocated = CASE WHEN claim_lines.sku = EXCLUDED.sku THEN claim_lines.allocated ELSE 0 END`,
        [input.shopId, input.orderId, writes.map((w) => w.id), writes.map((w) => w.sku), writes.map((w) => w.locationId), writes.map((w) => w.claimed), writes.map((w) => w.fulfilled)],
      );
    }
    // Confirmations the WMS sent before the order came: their lines, and what its total already shows converted.
    const adopted = (await adoptEarlyConfirmations(client, input.shopId, input.orderId, new Set(existing.keys()))).keys;
    for (const k of adopted) keys.set(skuLocationKey(k), k);
    // Re-read only when something was written: a new line may already have WMS confirmations waiting for it.
    const lines = writes.length > 0 || adopted.length > 0 ? (await client.query<LineRow>(LINES_SQL, [input.shopId, input.orderId])).rows.map(toStatus) : [...existing.values()].map(toStatus);
    const state = input.terminal ?? stateOfLines(lines);
    await client.query('UPDATE reservations SET state = $3, updated_at = now() WHERE shop_id = $1 AND order_id = $2', [input.shopId, input.orderId, state]);
    await deps.claimRacePoints?.beforeCommit?.();
    return { state, lines, changedKeys: [...keys.values()] };
  });
}

/** The state a reservation should show after its lines changed outside an order event (a WMS confirmation). */
export async function settleState(client: PoolClient, shopId: string, orderId: string, lines: ClaimLineStatus[]): Promise<ReservationState> {
  const { rows } = await client.query<{ state: ReservationState }>('SELECT state FROM reservations WHERE shop_id = $1 AND order_id = $2', [shopId, orderId]);
  const current = rows[0]?.state ?? 'pending';
  if (isTerminal(current) || current === 'pending') return current;
  const next = stateOfLines(lines);
  await client.query('UPDATE reservations SET state = $3, updated_at = now() WHERE shop_id = $1 AND order_id = $2', [shopId, orderId, next]);
  return next;
}

/**
 * Units our claim lines of Shopify orders still hold, per key (absent: none). Every refresh flush asks it for all
 * its keys: one probe per key on `claim_lines_held` (an aggregate in a LATERAL, as `openClaims` does, so the
 * planner cannot turn it into a scan of every line of the shop), lines that hold nothing left out.
 */
export async function heldForShopifyOrders(db: Pick<Db, 'query'>, shopId: string, keys: SkuLocation[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const { rows } = await db.query<{ sku: string; location_id: string; held: number }>(
    `SELECT k.sku, k.location_id, h.held
       FROM unnest($2::text[], $3::text[]) AS k(sku, location_id)
       JOIN LATERAL (
         SELECT sum(c.claimed + greatest(0, c.allocated - c.fulfilled))::int AS held
           FROM claim_lines c
           JOIN reservations r ON r.shop_id = c.shop_id AND r.order_id = c.order_id AND r.origin = 'shopify'
          WHERE c.shop_id = $1 AND c.sku = k.sku AND c.location_id = k.location_id AND (c.claimed > 0 OR c.allocated > c.fulfilled)
       ) h ON h.held IS NOT NULL`,
    [shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
  return new Map(rows.map((r) => [skuLocationKey({ sku: r.sku, locationId: r.location_id }), r.held]));
}
