import type { AllocationEvent, OrderOrigin } from '../domain/reservation-model.js';
import { claimLineId } from '../domain/reservation-model.js';
import { isExternalOrderId } from '../domain/keys.js';
import { inTransaction } from './pool.js';
import { ensureReservation, lockLines, settleState, toStatus, type ClaimsDeps, type ClaimsOutcome } from './claims.js';
import { skuLocationKey } from '../domain/sku-location.js';
import { adoptEarlyConfirmations, convertDueAtKeys, lockOrderClaimsFirst } from './early-confirmations.js';

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
