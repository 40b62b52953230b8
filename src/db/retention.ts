import type { Db } from './pool.js';

/**
 * What retention deletes, each by its own time column. Never a row anything still needs: a source's latest reading
 * of a mapped key (source_snapshots) is its current truth and stays whatever its age; an unmapped key's reading
 * goes (a SKU mapped after that starts from the source's next event or full sync). The change feed's rows are
 * the history behind those readings; a delta sync paused for longer than their retention would miss the deleted
 * ones, and the nightly reconciliation corrects what it missed. A pending webhook delivery is never deleted. An
 * alert past its retention may be raised again for the same subject. A WMS confirmation of an order that never came
 * (no reservation: src/db/early-confirmations.ts) goes; every confirmation of an order we know stays with it.
 */
export const RETAINED_TABLES = ['source_changes', 'audit_log', 'webhook_deliveries', 'unmapped_snapshots', 'alerts', 'confirmations_without_order'] as const;
export type RetainedTable = (typeof RETAINED_TABLES)[number];

const DELETE_BATCH: Record<RetainedTable, string> = {
  source_changes: `DELETE FROM source_changes WHERE cursor IN (
      SELECT cursor FROM source_changes WHERE received_at < $1 ORDER BY received_at LIMIT $2)`,
  audit_log: `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)`,
  webhook_deliveries: `DELETE FROM webhook_deliveries WHERE webhook_id IN (
      SELECT webhook_id FROM webhook_deliveries WHERE received_at < $1 AND outcome <> 'pending' ORDER BY received_at LIMIT $2)`,
  unmapped_snapshots: `DELETE FROM source_snapshots WHERE ctid IN (
      SELECT s.ctid FROM source_snapshots s
       WHERE s.updated_at < $1
         AND NOT EXISTS (SELECT 1 FROM mappings m WHERE m.shop_id = s.shop_id AND m.sku = s.sku AND m.location_id = s.location_id)
       ORDER BY s.updated_at LIMIT $2)`,
  // Their deliveries go with them (ON DELETE CASCADE); a delivery gives up long before (deliver_within_hours).
  alerts: `DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE at < $1 ORDER BY id LIMIT $2)`,
  // Housekeeping alerted each such order once (orderNeverArrived) before its confirmations reach this age.
  // An order whose claim is in flight (its lock is taken) keeps them: that claim may be taking them over.
  confirmations_without_order: `DELETE FROM wms_allocations WHERE ctid IN (
      SELECT a.ctid FROM wms_allocations a
       WHERE a.applied_at IS NULL AND a.received_at < $1
         AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.shop_id = a.shop_id AND r.order_id = a.order_id)
         AND pg_try_advisory_xact_lock(order_claim_key(a.shop_id, a.order_id))
       ORDER BY a.received_at LIMIT $2)`,
};

/** Deletes at most `limit` rows of `table` older than `before`, oldest first; returns how many it deleted. */
export async function pruneBatch(db: Db, table: RetainedTable, before: Date, limit: number): Promise<number> {
  const res = await db.query(DELETE_BATCH[table], [before, limit]);
  return res.rowCount ?? 0;
}
