import type { PoolClient } from 'pg';
import type { AllocationEvent, AllocationLine, OrderOrigin } from '../domain/reservation-model.js';
import { claimLineId } from '../domain/reservation-model.js';
import type { SkuLocation } from '../sources/adapter.js';
import { ensureReservation, inTransaction, lockLines, settleState, toStatus, type ClaimsDeps, type ClaimsOutcome } from './claims.js';

type AllocationLineInput = AllocationLine;

export interface ConvertAllocationInput {
  shopId: string;
  orderId: string;
  workflowId: string;
  origin: OrderOrigin | null;
  allocation: AllocationEvent;
}

export interface ConversionOutcome extends ClaimsOutcome {
  /** Units moved from claimed to allocated by this call (0 when the confirmation was applied before). */
  converted: number;
}

/** Records a confirmation on arrival (the HTTP route) so it survives until the workflow applies it. */
export async function recordAllocation(client: PoolClient | { query: PoolClient['query'] }, shopId: string, orderId: string, a: ConvertAllocationInput['allocation']): Promise<void> {
  for (const l of a.lines) {
    await client.query(
      `INSERT INTO wms_allocations (shop_id, order_id, allocation_id, line_id, source, quantity, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [shopId, orderId, a.allocationId, claimLineId(l.lineId, l.locationId), a.source, l.quantity, a.occurredAt],
    );
  }
}

/**
 * Converts claimed units to allocated ones, exactly once per (order, allocation, line), in ONE transaction that
 * also folds the units into the WMS's allocated snapshot for the key unless that snapshot is already as new as
 * the allocation (then it includes them). So a refresh reading after this commit counts each unit once: in
 * wmsAllocated, and no longer in openClaims. The WMS's own later totals replace the snapshot as usual; an older
 * total arriving late is refused by the snapshot's newest-wins rule and cannot drop the units.
 */
export async function convertAllocation(deps: ClaimsDeps, input: ConvertAllocationInput): Promise<ConversionOutcome> {
  const { shopId, orderId, allocation: a } = input;
  return inTransaction(deps.db, async (client) => {
    await ensureReservation(client, shopId, orderId, input.workflowId, input.origin ?? 'shopify');
    await recordAllocation(client, shopId, orderId, a);
    const changed = new Map<string, SkuLocation>();
    let converted = 0;
    const lines = [...a.lines].sort((x, y) => claimLineId(x.lineId, x.locationId).localeCompare(claimLineId(y.lineId, y.locationId)));
    for (const l of lines) {
      const lineId = claimLineId(l.lineId, l.locationId);
      const { rows } = await client.query<{ applied_at: Date | null }>(
        `SELECT applied_at FROM wms_allocations WHERE shop_id = $1 AND order_id = $2 AND allocation_id = $3 AND line_id = $4 FOR UPDATE`,
        [shopId, orderId, a.allocationId, lineId],
      );
      if (rows[0]?.applied_at) continue;
      await client.query(
        `INSERT INTO claim_lines (shop_id, order_id, line_id, sku, location_id, claimed) VALUES ($1, $2, $3, $4, $5, 0)
         ON CONFLICT DO NOTHING`,
        [shopId, orderId, lineId, l.sku, l.locationId],
      );
      const line = await client.query<{ claimed: number }>(
        'SELECT claimed FROM claim_lines WHERE shop_id = $1 AND order_id = $2 AND line_id = $3 FOR UPDATE',
        [shopId, orderId, lineId],
      );
      const take = Math.min(l.quantity, line.rows[0]!.claimed);
      await client.query(
        `UPDATE claim_lines SET claimed = claimed - $4, allocated = allocated + $5, updated_at = now()
          WHERE shop_id = $1 AND order_id = $2 AND line_id = $3`,
        [shopId, orderId, lineId, take, l.quantity],
      );
      await foldIntoWmsSnapshot(client, a.source, shopId, l, a.occurredAt, `allocation:${orderId}:${a.allocationId}:${lineId}`);
      await client.query(
        `UPDATE wms_allocations SET applied_at = now(), converted = $5 WHERE shop_id = $1 AND order_id = $2 AND allocation_id = $3 AND line_id = $4`,
        [shopId, orderId, a.allocationId, lineId, take],
      );
      converted += take;
      changed.set(`${l.sku}|${l.locationId}`, { sku: l.sku, locationId: l.locationId });
    }
    const status = (await lockLines(client, shopId, orderId)).map(toStatus);
    const state = await settleState(client, shopId, orderId, status);
    return { state, lines: status, changedKeys: [...changed.values()], converted };
  });
}

/**
 * Adds the allocated units to the WMS snapshot when the snapshot predates the allocation, and moves the snapshot
 * to the allocation's time (it now reflects it). The change is also appended to the feed, for delta sync and audit.
 */
async function foldIntoWmsSnapshot(client: PoolClient, source: string, shopId: string, l: AllocationLineInput, occurredAt: string, externalId: string): Promise<void> {
  const { rows } = await client.query<{ quantity: number; occurred_at: Date }>(
    `SELECT quantity, occurred_at FROM source_snapshots WHERE source = $1 AND shop_id = $2 AND sku = $3 AND location_id = $4 FOR UPDATE`,
    [source, shopId, l.sku, l.locationId],
  );
  const snap = rows[0];
  if (snap && snap.occurred_at.getTime() >= Date.parse(occurredAt)) return;
  const quantity = (snap?.quantity ?? 0) + l.quantity;
  const change = await client.query<{ cursor: string }>(
    `INSERT INTO source_changes (source, shop_id, sku, location_id, quantity, occurred_at, external_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING RETURNING cursor::text`,
    [source, shopId, l.sku, l.locationId, quantity, occurredAt, externalId],
  );
  await client.query(
    `INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at, cursor) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
       SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, cursor = EXCLUDED.cursor, updated_at = now()`,
    [source, shopId, l.sku, l.locationId, quantity, occurredAt, change.rows[0]?.cursor ?? null],
  );
}
