import { Context } from '@temporalio/activity';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { pruneBatch, RETAINED_TABLES, type RetainedTable } from '../db/retention.js';
import { ordersNeverArrived } from '../db/early-confirmations.js';
import { raiseAndLogAlert } from '../alerts/raise.js';
import { reservationTtlSeconds } from '../domain/reservation-model.js';

export interface HousekeepingDeps {
  db: Db;
  config: Config;
}

export interface PruneResult {
  /** Rows deleted per table, and the cut-off each was deleted before. */
  deleted: Record<RetainedTable, number>;
  before: Record<RetainedTable, string>;
}

export interface NeverArrivedResult {
  /** Orders found (confirmed by a WMS, no order after reservations.ttl), and of those, alerts raised now. */
  found: number;
  raised: number;
}

/** Orders looked at per run: the oldest first, the rest in the next run (each alert is raised once). */
const NEVER_ARRIVED_LIMIT = 10_000;

/** Rows per DELETE: short statements, so no lock or WAL burst holds back the sources' writes. */
const BATCH = 5_000;

export function createHousekeepingActivities(deps: HousekeepingDeps) {
  return {
    /**
     * A WMS confirmation of an order that has not come within `reservations.ttl` (hours, or seconds): one
     * `reservation_expired` alert per order, `orderNeverArrived: true`. Such a confirmation starts no workflow
     * (src/db/early-confirmations.ts), so no expiry timer reports it. It stays recorded: the order, should it come,
     * still takes it over.
     */
    async alertOrdersNeverArrived(): Promise<NeverArrivedResult> {
      const olderThan = new Date(Date.now() - reservationTtlSeconds(deps.config.inventory_sync.reservations) * 1000);
      const found = await ordersNeverArrived(deps.db, olderThan, NEVER_ARRIVED_LIMIT);
      let raised = 0;
      const ctx = Context.current();
      for (const [i, o] of found.entries()) {
        if (i % 500 === 0) ctx.heartbeat({ orders: i });
        const details = { orderNeverArrived: true, claimed: 0, released: false, confirmedLines: o.lines, confirmedUnits: o.units, firstConfirmedAt: o.firstAt.toISOString() };
        if (await raiseAndLogAlert(deps.db, { kind: 'reservation_expired', shopId: o.shopId, subject: o.orderId, details })) raised++;
      }
      return { found: found.length, raised };
    },
    /**
     * Deletes every row past its retention (inventory_sync.retention), table by table, in batches of BATCH,
     * heartbeating after each: a retry after a crash or timeout deletes what is left, nothing twice.
     */
    async pruneExpiredRows(): Promise<PruneResult> {
      const now = Date.now();
      const { retention } = deps.config.inventory_sync;
      const ctx = Context.current();
      const deleted = {} as Record<RetainedTable, number>;
      const before = {} as Record<RetainedTable, string>;
      for (const table of RETAINED_TABLES) {
        // Each table's setting is named after it: inventory_sync.retention.{table}_days.
        const cutoff = new Date(now - retention[`${table}_days`] * 86_400_000);
        before[table] = cutoff.toISOString();
        deleted[table] = 0;
        for (;;) {
          const n = await pruneBatch(deps.db, table, cutoff, BATCH);
          deleted[table] += n;
          ctx.heartbeat({ table, deleted: deleted[table] });
          if (n < BATCH) break;
        }
      }
      ctx.log.info('retention: expired rows deleted', { ...deleted });
      return { deleted, before };
    },
  };
}
