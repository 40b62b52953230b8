import type { AllocationEvent, OrderOrigin } from '../domain/reservation-model.js';
import { claimLineId, stateOfLines, TERMINAL_STATES } from '../domain/reservation-model.js';
import { isExternalOrderId } from '../domain/keys.js';
import { inTransaction } from './pool.js';
import { ensureReservation, LINES_OF_ORDERS_SQL, lockLines, settleState, toStatus, type ClaimsDeps, type ClaimsOutcome, type LineRow } from './claims.js';
import { skuLocationKey, type SkuLocation } from '../domain/sku-location.js';
import { adoptEarlyConfirmations, convertDueAtKeys, lockOrderClaimsFirst, orderKey } from './early-confirmations.js';

export interface ConvertAllocationInput {
  shopId: string;
  orderId: string;
  workflowId: string;
  origin: OrderOrigin | null;
  allocation: AllocationEvent;
}

export interface ConversionOutcome extends ClaimsOutcome {
  /** Units moved from claimed to allocated by this call (0 when the WMS total does not show them yet). */
  converted: number;
}

type Queryable = { query(text: string, values?: unknown[]): Promise<unknown> };

/** Records a confirmation on arrival (the HTTP route, then the activity again), in one statement: a repeat changes nothing. */
export async function recordAllocation(db: Queryable, shopId: string, orderId: string, a: AllocationEvent): Promise<void> {
  if (a.lines.length === 0) return;
  await db.query(
    `INSERT INTO wms_allocations (shop_id, order_id, allocation_id, line_id, source, sku, location_id, quantity, occurred_at)
     SELECT $1, $2, $3, l.line_id, $4, l.sku, l.location_id, l.quantity, $5
       FROM unnest($6::text[], $7::text[], $8::text[], $9::int[]) AS l(line_id, sku, location_id, quantity)
     ON CONFLICT DO NOTHING`,
    [shopId, orderId, a.allocationId, a.source, a.occurredAt, a.lines.map((l) => claimLineId(l.lineId, l.locationId)), a.lines.map((l) => l.sku), a.lines.map((l) => l.locationId), a.lines.map((l) => l.quantity)],
  );
}

/**
 * Every unit is subtracted exactly once: through its claim until the WMS's allocated total includes it, through
 * that total after. A confirmation whose units the total (source_snapshots, newest reading wins) already shows is
 * converted here (claimed -= n, allocated += n); one the total does not show yet stays claimed, and the database
 * trigger on source_snapshots converts it in the same transaction that records the first total as new as it.
 * Both paths hold the key's snapshot row lock, then run `convert_due_wms_allocations` (one advisory lock per WMS
 * key) and mark each (order, allocation, line) applied, so a repeat or a retry converts nothing twice.
 */
export async function convertAllocation(deps: ClaimsDeps, input: ConvertAllocationInput): Promise<ConversionOutcome> {
  const { shopId, orderId, allocation: a } = input;
  return inTransaction(deps.db, async (client) => {
    // The order's claim lock first (early-confirmations.ts): this may give the order its first claim line (a
    // workflow started before confirmations of unseen orders stopped starting workflows).
    const { firstClaim } = await lockOrderClaimsFirst(client, shopId, orderId);
    // Confirmed before its order arrived: the id space tells the origin (a channel's orders are ext:{channel}:{id}),
    // so the workflow's origin check never refuses the order's own first event.
    await ensureReservation(client, shopId, orderId, input.workflowId, input.origin ?? (isExternalOrderId(orderId) ? 'external' : 'shopify'));
    const lines = [...a.lines].sort((x, y) => claimLineId(x.lineId, x.locationId).localeCompare(claimLineId(y.lineId, y.locationId)));
    for (const l of lines) {
      await client.query(
        `INSERT INTO claim_lines (shop_id, order_id, line_id, sku, location_id, claimed) VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT DO NOTHING`,
        [shopId, orderId, claimLineId(l.lineId, l.locationId), l.sku, l.locationId],
      );
    }
    await recordAllocation(client, shopId, orderId, a);
    const keys = [...new Map(lines.map((l) => [skuLocationKey(l), { sku: l.sku, locationId: l.locationId }])).values()].sort((x, y) =>
      skuLocationKey(x).localeCompare(skuLocationKey(y)),
    );
    // Lock the WMS snapshot rows first, in the order the snapshot writer locks them (sku, location), so a
    // concurrent total either committed before our read or waits for our commit and then sees our rows. The order's
    // first lines: every confirmation waiting for the order (this one included) is taken over at once, one pass
    // over the snapshot rows per source.
    const adopted = await adoptEarlyConfirmations(client, shopId, orderId, firstClaim ? new Set() : null);
    const touched = [...new Map([...keys, ...adopted.keys].map((k) => [skuLocationKey(k), k])).values()];
    const converted = firstClaim ? adopted.converted : await convertDueAtKeys(client, a.source, shopId, keys, deps.conversionRacePoints?.afterSnapshotLocked);
    const status = (await lockLines(client, shopId, orderId)).map(toStatus);
    const state = await settleState(client, shopId, orderId, status);
    // Every key of the confirmation, converted or not: a re-run after a crash converts nothing, yet may owe the
    // refresh of a conversion the first run committed (ClaimsOutcome.changedKeys).
    return { state, lines: status, changedKeys: touched, converted };
  });
}

/** One WMS confirmation of an order that has a reservation (the sweeper's confirmation lane). */
export interface KnownOrderConfirmation {
  shopId: string;
  orderId: string;
  allocation: AllocationEvent;
}

export interface BatchConversionOutcome {
  /** Units moved from claimed to allocated. */
  converted: number;
  /** Every key of the batch's confirmations, per shop (a re-run owes the refresh what the first run converted). */
  changedKeys: { shopId: string; key: SkuLocation }[];
  /**
   * Not converted here, for `convertAllocation`, one order at a time: orders with no claim line yet (their first
   * lines take every waiting confirmation over), and orders whose claim lock was taken (a claim in flight: the batch
   * does not wait for it).
   */
  oneByOne: KnownOrderConfirmation[];
}

/**
 * `convertAllocation` for many confirmations of orders that already have claim lines, in one transaction of a few
 * statements whatever their number (the confirmation lane converts a WMS's burst at the rate PostgreSQL runs
 * statements, not one transaction of a dozen round trips per confirmation). The same steps, in the same lock
 * order: the orders' claim locks (tried: an order whose claim is in flight is left for `convertAllocation`), the
 * confirmations' claim lines (claimed 0 where the order has none), their rows in wms_allocations (a repeat changes
 * nothing), then every source's snapshot rows of the keys, locked in one statement in the snapshot writer's order,
 * and `convert_due_wms_allocations` per row, then each order's state from its lines. The lines are read, not locked: every order's claim lock is held, and a
 * snapshot writer converting into them holds the key's snapshot row, which this transaction already has.
 */
export async function convertKnownOrderConfirmations(deps: ClaimsDeps, items: KnownOrderConfirmation[]): Promise<BatchConversionOutcome> {
  if (items.length === 0) return { converted: 0, changedKeys: [], oneByOne: [] };
  return inTransaction(deps.db, async (client) => {
    const orders = [...new Map(items.map((c) => [orderKey(c), c])).values()];
    const shops = orders.map((o) => o.shopId);
    const ids = orders.map((o) => o.orderId);
    // Tried, never waited for: a claim in flight would hold the whole batch (and a wait here, holding other orders'
    // locks, is a cycle waiting to happen). The statement that follows sees every claim committed before the tries.
    const { rows: tried } = await client.query<{ s: string; o: string; locked: boolean }>(
      `SELECT s, o, pg_try_advisory_xact_lock(order_claim_key(s, o)) AS locked FROM unnest($1::text[], $2::text[]) AS t(s, o)`,
      [shops, ids],
    );
    const locked = tried.filter((r) => r.locked).map((r) => ({ shopId: r.s, orderId: r.o }));
    const { rows: lined } = await client.query<{ shop_id: string; order_id: string }>(
      `SELECT DISTINCT c.shop_id, c.order_id FROM claim_lines c JOIN unnest($1::text[], $2::text[]) AS t(s, o) ON c.shop_id = t.s AND c.order_id = t.o`,
      [locked.map((o) => o.shopId), locked.map((o) => o.orderId)],
    );
    const ours = new Set(lined.map((r) => orderKey({ shopId: r.shop_id, orderId: r.order_id })));
    const oneByOne = items.filter((c) => !ours.has(orderKey(c)));
    const batch = items.filter((c) => ours.has(orderKey(c)));
    if (batch.length === 0) return { converted: 0, changedKeys: [], oneByOne };

    const lines = batch
      .flatMap((c) => c.allocation.lines.map((l) => ({ c, l, lineId: claimLineId(l.lineId, l.locationId) })))
      .sort((x, y) => orderKey(x.c).localeCompare(orderKey(y.c)) || x.lineId.localeCompare(y.lineId));
    await client.query(
      `INSERT INTO claim_lines (shop_id, order_id, line_id, sku, location_id, claimed)
       SELECT s, o, line, sku, loc, 0 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(s, o, line, sku, loc, ord)
        ORDER BY ord
       ON CONFLICT DO NOTHING`,
      [lines.map((x) => x.c.shopId), lines.map((x) => x.c.orderId), lines.map((x) => x.lineId), lines.map((x) => x.l.sku), lines.map((x) => x.l.locationId)],
    );
    await client.query(
      `INSERT INTO wms_allocations (shop_id, order_id, allocation_id, line_id, source, sku, location_id, quantity, occurred_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        lines.map((x) => x.c.shopId),
        lines.map((x) => x.c.orderId),
        lines.map((x) => x.c.allocation.allocationId),
        lines.map((x) => x.lineId),
        lines.map((x) => x.c.allocation.source),
        lines.map((x) => x.l.sku),
        lines.map((x) => x.l.locationId),
        lines.map((x) => x.l.quantity),
        lines.map((x) => x.c.allocation.occurredAt),
      ],
    );

    // Every WMS source's snapshot rows of the batch's keys, locked in one statement in (source, shop, sku, location)
    // order before any conversion: a conversion locks claim lines of orders outside the batch, and a transaction
    // holding those while it waited for another source's row could close a cycle with a workflow's conversion.
    const keys = new Map<string, { source: string; shopId: string; key: SkuLocation }>();
    for (const { c, l } of lines) {
      keys.set(`${c.allocation.source}\u0000${c.shopId}\u0000${skuLocationKey(l)}`, { source: c.allocation.source, shopId: c.shopId, key: { sku: l.sku, locationId: l.locationId } });
    }
    const all = [...keys.values()];
    const snapshots = await client.query<{ source: string; shop_id: string; sku: string; location_id: string; occurred_at: Date }>(
      `SELECT s.source, s.shop_id, s.sku, s.location_id, s.occurred_at FROM source_snapshots s
         JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(source, shop_id, sku, location_id) USING (source, shop_id, sku, location_id)
        ORDER BY s.source, s.shop_id, s.sku, s.location_id FOR UPDATE OF s`,
      [all.map((k) => k.source), all.map((k) => k.shopId), all.map((k) => k.key.sku), all.map((k) => k.key.locationId)],
    );
    await deps.conversionRacePoints?.afterSnapshotLocked?.();
    let converted = 0;
    if (snapshots.rows.length > 0) {
      const r = snapshots.rows;
      const { rows } = await client.query<{ n: number }>(
        `SELECT coalesce(sum(convert_due_wms_allocations(t.source, t.s, t.sku, t.loc, t.at)), 0)::int AS n
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS t(source, s, sku, loc, at)`,
        [r.map((x) => x.source), r.map((x) => x.shop_id), r.map((x) => x.sku), r.map((x) => x.location_id), r.map((x) => x.occurred_at)],
      );
      converted = rows[0]?.n ?? 0;
    }
    const changed = new Map(all.map((k) => [`${k.shopId}\u0000${skuLocationKey(k.key)}`, { shopId: k.shopId, key: k.key }]));

    // Each order's state from its lines, as settleState does (terminal and pending states stay).
    const batchOrders = [...new Map(batch.map((c) => [orderKey(c), c])).values()];
    const { rows: lineRows } = await client.query<LineRow>(LINES_OF_ORDERS_SQL, [batchOrders.map((o) => o.shopId), batchOrders.map((o) => o.orderId)]);
    const linesOf = new Map<string, LineRow[]>();
    for (const r of lineRows) {
      const id = orderKey({ shopId: r.shop_id, orderId: r.order_id });
      linesOf.set(id, [...(linesOf.get(id) ?? []), r]);
    }
    const next = batchOrders.map((o) => ({ o, state: stateOfLines((linesOf.get(orderKey(o)) ?? []).map(toStatus)) }));
    await client.query(
      `UPDATE reservations r SET state = t.state, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[]) AS t(s, o, state)
        WHERE r.shop_id = t.s AND r.order_id = t.o AND r.state <> ALL($4::text[]) AND r.state <> t.state`,
      [next.map((x) => x.o.shopId), next.map((x) => x.o.orderId), next.map((x) => x.state), ['pending', ...TERMINAL_STATES]],
    );
    return { converted, changedKeys: [...changed.values()], oneByOne };
  });
}
