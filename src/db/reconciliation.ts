import { TERMINAL_STATES } from '../domain/reservation-model.js';
import { Errors } from '../domain/errors.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { inTransaction, type Db } from './pool.js';

/** One key's comparison in a run: Shopify's `available` against ATS (a reconciliation drift). */
export interface DriftRow extends SkuLocation {
  shopifyQty: number;
  ats: number;
  drift: number;
}

/** A mapping as reconciliation reads it (the columns as stored). */
export interface ReconciliationMappingRow {
  sku: string;
  location_id: string;
  inventory_item_id: string;
  shopify_location_id: string;
}

/** A run as the bulk-export path reads it (the columns as stored; bigints as text). */
export interface ExportRunRow {
  keys_checked: number;
  drifted: number;
  corrected: number;
  alerted: number;
  bad_lines: number;
  missing_in_shopify: number;
  bulk_operation_id: string | null;
  bulk_url: string | null;
  lines_total: string | null;
  lines_done: string;
  seen_base: string | null;
  seen: Buffer | null;
  export_done: boolean;
}

/** Opens the run of this workflow, or returns the one already running (a retried start opens no second run). */
export async function openReconciliationRun(db: Pick<Db, 'query'>, shopId: string, workflowId: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `WITH existing AS (SELECT id FROM reconciliation_runs WHERE workflow_id = $2 AND status = 'running')
       INSERT INTO reconciliation_runs (shop_id, workflow_id) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM existing)
       RETURNING id::text`,
    [shopId, workflowId],
  );
  if (rows[0]) return Number(rows[0].id);
  const again = await db.query<{ id: string }>(`SELECT id::text FROM reconciliation_runs WHERE workflow_id = $1 AND status = 'running'`, [workflowId]);
  return Number(again.rows[0]!.id);
}

/** One keyset page of a shop's mappings, in (sku, location) order, after the given key. */
export async function mappingsPageAfter(db: Pick<Db, 'query'>, shopId: string, after: SkuLocation, limit: number): Promise<ReconciliationMappingRow[]> {
  const { rows } = await db.query<ReconciliationMappingRow>(
    `SELECT sku, location_id, inventory_item_id, shopify_location_id FROM mappings
        WHERE shop_id = $1 AND (sku, location_id) > ($2, $3) ORDER BY sku, location_id LIMIT $4`,
    [shopId, after.sku, after.locationId, limit],
  );
  return rows;
}

/** The shop's mappings of these Shopify (inventory item, location) pairs, with their sequence numbers (as text). */
export async function mappingsOfShopifyLevels(
  db: Pick<Db, 'query'>,
  shopId: string,
  pairs: { item: string; location: string }[],
): Promise<(ReconciliationMappingRow & { seq: string })[]> {
  const { rows } = await db.query<ReconciliationMappingRow & { seq: string }>(
    `SELECT m.seq::text, m.sku, m.location_id, m.inventory_item_id, m.shopify_location_id
           FROM unnest($2::text[], $3::text[]) AS k(item, loc)
           JOIN mappings m ON m.shop_id = $1 AND m.inventory_item_id = k.item AND m.shopify_location_id = k.loc`,
    [shopId, pairs.map((p) => p.item), pairs.map((p) => p.location)],
  );
  return rows;
}

/** The run's report rows for these drifts (a repeated key keeps its latest figures); `corrected` holds `skuLocationKey`s. */
export async function saveReconciliationRows(db: Pick<Db, 'query'>, runId: number, drifts: DriftRow[], corrected: Set<string>): Promise<void> {
  await db.query(
    `INSERT INTO reconciliation_rows (run_id, sku, location_id, shopify_qty, ats, drift, corrected)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::bool[])
       ON CONFLICT (run_id, sku, location_id) DO UPDATE SET shopify_qty = EXCLUDED.shopify_qty, ats = EXCLUDED.ats, drift = EXCLUDED.drift, corrected = EXCLUDED.corrected`,
    [runId, drifts.map((d) => d.sku), drifts.map((d) => d.locationId), drifts.map((d) => d.shopifyQty), drifts.map((d) => d.ats), drifts.map((d) => d.drift), drifts.map((d) => corrected.has(skuLocationKey(d)))],
  );
}

/**
 * One 'drift' alert per breach, subject `skuLocationKey`. Not through raiseAlert: that stores one row per
 * (kind, shop, subject) ever, and a key that drifts again in a later run must alert again.
 */
export async function insertDriftAlerts(db: Pick<Db, 'query'>, shopId: string, runId: number, breaches: DriftRow[]): Promise<void> {
  await db.query(
    `INSERT INTO alerts (kind, shop_id, subject, details)
         SELECT 'drift', $1, s, jsonb_build_object('runId', $2::bigint, 'shopify', q, 'ats', a, 'drift', d)
           FROM unnest($3::text[], $4::int[], $5::int[], $6::int[]) AS t(s, q, a, d)`,
    [shopId, runId, breaches.map((d) => skuLocationKey(d)), breaches.map((d) => d.shopifyQty), breaches.map((d) => d.ats), breaches.map((d) => d.drift)],
  );
}

/** Adds one page's counts to the run's totals. */
export async function addPageTotals(db: Pick<Db, 'query'>, runId: number, totals: { checked: number; drifted: number; corrected: number }): Promise<void> {
  await db.query(
    `UPDATE reconciliation_runs SET keys_checked = keys_checked + $2, drifted = drifted + $3, corrected = corrected + $4 WHERE id = $1`,
    [runId, totals.checked, totals.drifted, totals.corrected],
  );
}

/** Which of these orders (numeric ids) of the shop have a reservation. */
export async function ordersWithReservation(db: Pick<Db, 'query'>, shopId: string, orderIds: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ order_id: string }>('SELECT order_id FROM reservations WHERE shop_id = $1 AND order_id = ANY($2)', [shopId, orderIds]);
  return new Set(rows.map((r) => r.order_id));
}

/** Of these orders, the Shopify orders whose reservation is not in a terminal state (it may still hold claims). */
export async function openShopifyReservations(db: Pick<Db, 'query'>, shopId: string, orderIds: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ order_id: string }>(
    `SELECT order_id FROM reservations WHERE shop_id = $1 AND order_id = ANY($2) AND origin = 'shopify' AND state <> ALL($3::text[])`,
    [shopId, orderIds, TERMINAL_STATES],
  );
  return new Set(rows.map((r) => r.order_id));
}

/**
 * Counts the orders the run handed on for lost webhooks, and alerts 'missed_webhooks' (one row per run that found
 * some: not through raiseAlert, which would keep only the first run's row for the same count).
 */
export async function recordOrdersStarted(db: Pick<Db, 'query'>, shopId: string, runId: number, started: number): Promise<void> {
  await db.query('UPDATE reconciliation_runs SET orders_started = orders_started + $2 WHERE id = $1', [runId, started]);
  await db.query(`INSERT INTO alerts (kind, shop_id, subject, details) VALUES ('missed_webhooks', $1, $2, $3)`, [
    shopId,
    `${started} order(s) without a reservation`,
    { runId, started },
  ]);
}

export async function finishReconciliationRun(db: Pick<Db, 'query'>, runId: number, status: 'completed' | 'failed'): Promise<void> {
  await db.query(`UPDATE reconciliation_runs SET status = $2, finished_at = now() WHERE id = $1`, [runId, status]);
}

export async function loadExportRun(db: Pick<Db, 'query'>, runId: number): Promise<ExportRunRow | undefined> {
  const { rows } = await db.query<ExportRunRow>(
    'SELECT keys_checked, drifted, corrected, alerted, bad_lines, missing_in_shopify, bulk_operation_id, bulk_url, lines_total::text, lines_done::text, seen_base::text, seen, export_done FROM reconciliation_runs WHERE id = $1',
    [runId],
  );
  return rows[0];
}

/** Keeps the run's bulk export (id, file, line count) and starts its checkpoint; only the first export is kept. */
export async function recordBulkExport(db: Pick<Db, 'query'>, runId: number, shopId: string, exp: { id: string; url: string | null; objectCount: number }): Promise<void> {
  await db.query(
    `UPDATE reconciliation_runs SET bulk_operation_id = $2, bulk_url = $3, lines_total = $4, lines_done = 0,
                seen_base = (SELECT coalesce(min(seq), 0) FROM mappings WHERE shop_id = $5), seen = ''::bytea
          WHERE id = $1 AND bulk_operation_id IS NULL`,
    [runId, exp.id, exp.url, exp.objectCount, shopId],
  );
}

export interface ExportChunk {
  runId: number;
  shopId: string;
  /** The checkpoint this attempt started the chunk from: the run must still be there, or the chunk is not counted. */
  linesDoneBefore: number;
  /** The checkpoint after the chunk. */
  through: number;
  /** The run's seen-mappings bitset after the chunk. */
  seen: Buffer;
  checked: number;
  drifts: DriftRow[];
  /** `skuLocationKey`s of the drifts written. */
  corrected: Set<string>;
  breaches: DriftRow[];
  problems: { line: number; detail: string }[];
}

/**
 * The chunk's report and the checkpoint after it, in one transaction: a chunk is counted once or redone. When the
 * run's checkpoint is no longer `linesDoneBefore` (another attempt took the chunk), nothing is written: WRITE_ABANDONED.
 */
export async function checkpointExportChunk(db: Db, c: ExportChunk): Promise<void> {
  const { runId, drifts, breaches, problems } = c;
  await inTransaction(db, async (client) => {
    const moved = await client.query(
      `UPDATE reconciliation_runs SET keys_checked = keys_checked + $3, drifted = drifted + $4, corrected = corrected + $5,
                  alerted = alerted + $9, bad_lines = bad_lines + $6, lines_done = $7, seen = $8
            WHERE id = $1 AND lines_done = $2`,
      [runId, c.linesDoneBefore, c.checked, drifts.length, c.corrected.size, problems.length, c.through, c.seen, breaches.length],
    );
    if (moved.rowCount !== 1) throw Errors.WriteAbandoned(`reconciliation run ${runId} moved on under this attempt (another attempt took the chunk)`, { runId });
    if (drifts.length > 0) await saveReconciliationRows(client, runId, drifts, c.corrected);
    if (breaches.length > 0) await insertDriftAlerts(client, c.shopId, runId, breaches);
    if (problems.length > 0) {
      await client.query(
        `INSERT INTO reconciliation_problems (run_id, kind, line, detail) SELECT $1, 'bad_line', * FROM unnest($2::bigint[], $3::text[])`,
        [runId, problems.map((p) => p.line), problems.map((p) => p.detail)],
      );
    }
  });
}

/** Thrown inside finishExport's transaction to roll it back when another attempt finished the export first. */
class ExportAlreadyDone extends Error {}

/**
 * Mappings whose item and location were not in Shopify's export (not in `seen`, relative to `base`) reported
 * once, and the run's export marked done, in one transaction. Returns how many were missing; 0, with nothing
 * written, when another attempt marked the export done first.
 */
export async function finishExport(db: Db, runId: number, shopId: string, base: number, seen: Buffer): Promise<number> {
  try {
    return await inTransaction(db, async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `WITH missing AS (
           SELECT sku, location_id, inventory_item_id, shopify_location_id FROM mappings
            WHERE shop_id = $2 AND CASE WHEN seq < $3 OR seq - $3 >= $5 THEN true ELSE get_bit($4::bytea, (seq - $3)::int) = 0 END
         ), reported AS (
           INSERT INTO reconciliation_problems (run_id, kind, sku, location_id, detail)
           SELECT $1, 'missing_in_shopify', sku, location_id,
                  'Shopify does not list inventory item ' || inventory_item_id || ' at location ' || shopify_location_id
                  || CASE WHEN r.bad_lines > 0 THEN ' (deleted, no longer stocked there, or on one of the export''s ' || r.bad_lines || ' bad lines)' ELSE ' (deleted, or no longer stocked there)' END
                  || '; not written: fix or remove the mapping'
             FROM missing, (SELECT bad_lines FROM reconciliation_runs WHERE id = $1) r RETURNING 1
         )
         SELECT count(*)::int AS n FROM reported`,
        [runId, shopId, base, seen, seen.length * 8],
      );
      const missing = rows[0]?.n ?? 0;
      const done = await client.query('UPDATE reconciliation_runs SET export_done = true, missing_in_shopify = $2 WHERE id = $1 AND NOT export_done', [runId, missing]);
      if (done.rowCount !== 1) throw new ExportAlreadyDone();
      return missing;
    });
  } catch (err) {
    if (err instanceof ExportAlreadyDone) return 0;
    throw err;
  }
}
