import { Context } from '@temporalio/activity';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { pruneBatch, RETAINED_TABLES, type RetainedTable } from '../db/retention.js';

export interface HousekeepingDeps {
  db: Db;
  config: Config;
}

export interface PruneResult {
  /** Rows deleted per table, and the cut-off each was deleted before. */
  deleted: Record<RetainedTable, number>;
  before: Record<RetainedTable, string>;
}

/** Rows per DELETE: short statements, so no lock or WAL burst holds back the sources' writes. */
const BATCH = 5_000;

export function createHousekeepingActivities(deps: HousekeepingDeps) {
  return {
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
