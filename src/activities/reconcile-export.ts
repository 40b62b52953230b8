import { Context } from '@temporalio/activity';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { Errors } from '../domain/errors.js';
import { driftUnits, reconcileKeys } from '../observability/worker-metrics.js';
import type { BulkExport, BulkLine, BulkLinesOptions, BulkQueryOptions } from '../shopify/client/bulk.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { correctDrifts, findDrifts } from './reconcile-drift.js';
import { checkpointExportChunk, finishExport, loadExportRun, mappingsOfShopifyLevels, recordBulkExport, type ExportRunRow } from '../db/reconciliation.js';
import { readComponents } from '../sources/components.js';
import type { RefreshInput, RefreshSummary } from './refresh.js';
import { LEVELS_EXPORT } from './shopify-warmup.js';

/** Reconciliation's way to read a shop's levels as Shopify serves large reads: one bulk export, as JSONL. */
export interface ShopifyBulkPort {
  runBulkExport(query: string, opts?: BulkQueryOptions): Promise<BulkExport>;
  bulkLines(url: string, opts?: BulkLinesOptions): AsyncIterable<BulkLine>;
}

/** Test-only: where a test stops the run at an exact point (a worker killed at 60%). Production passes none. */
export interface ReconcileRacePoints {
  /** A chunk's results and the checkpoint after it are committed. */
  afterCheckpoint?(p: { runId: number; linesDone: number; linesTotal: number }): Promise<void>;
}

export interface ReconcileExportDeps {
  db: Db;
  config: Config;
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyBulkPort;
  refreshKeys: (input: RefreshInput) => Promise<RefreshSummary>;
  reconcileRacePoints?: ReconcileRacePoints;
}

/** The run's totals so far (every attempt's committed chunks, not only this slice's), and where it is in the file. */
export interface ExportSliceResult {
  checked: number;
  drifted: number;
  corrected: number;
  alerted: number;
  badLines: number;
  missing: number;
  linesDone: number;
  linesTotal: number;
  done: boolean;
}

/** How much of a bad line the report keeps: enough to find it, not the whole of a long row. */
const BAD_LINE_SHOWN = 120;

/** A growable bitset over mapping sequence numbers, relative to the shop's first (`base`). */
class SeenSet {
  constructor(public bytes: Buffer) {}
  /** Bit i is byte i>>3, bit i&7 counted from the least significant: PostgreSQL's get_bit on bytea reads it so. */
  add(i: number): void {
    const byte = i >> 3;
    if (byte >= this.bytes.length) {
      const grown = Buffer.alloc(Math.max(byte + 1, this.bytes.length * 2));
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    this.bytes[byte]! |= 1 << (i & 7);
  }
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Reconciliation over one bulk export of the shop's levels. Each call is a slice: it starts the export on the
 * run's first call (the operation's id and file are kept on the run, so a retry or a later slice downloads the
 * same file again and skips the lines already done), then takes the file chunk by chunk: the chunk's mappings
 * (PostgreSQL, by inventory item and location), their ATS, the drifted keys corrected through the guarded write,
 * and the chunk's report rows committed with the checkpoint in one transaction. A worker killed mid-run resumes
 * at the last checkpoint. At the end of the file, mappings Shopify did not list are reported, never retried.
 */
export function createReconcileExportActivities(deps: ReconcileExportDeps) {
  const chunkLines = deps.config.inventory_sync.reconciliation.export_chunk_lines;
  const sliceMs = deps.config.inventory_sync.reconciliation.export_slice_seconds * 1000;

  async function loadRun(runId: number): Promise<ExportRunRow> {
    const run = await loadExportRun(deps.db, runId);
    if (!run) throw Errors.NotFound(`reconciliation run ${runId} not found`, { runId });
    return run;
  }

  async function startExport(runId: number, shopId: string, ctx: Context | undefined): Promise<void> {
    // Bulk exports take a while at Shopify: keep telling Temporal this attempt is alive while we wait.
    const beat = setInterval(() => ctx?.heartbeat({ phase: 'export' }), 2_000);
    try {
      const exp = await deps.shopify(shopId).runBulkExport(LEVELS_EXPORT, ctx ? { signal: ctx.cancellationSignal } : {});
      await recordBulkExport(deps.db, runId, shopId, exp);
    } finally {
      clearInterval(beat);
    }
  }

  async function reconcileExportSlice(input: { runId: number; shopId: string }): Promise<ExportSliceResult> {
    const { runId, shopId } = input;
    const ctx = activityContext();
    const { reconciliation } = deps.config.inventory_sync;
    let run = await loadRun(runId);
    if (run.bulk_operation_id === null) {
      await startExport(runId, shopId, ctx);
      run = await loadRun(runId);
    }
    const linesTotal = Number(run.lines_total ?? 0);
    const base = Number(run.seen_base ?? 0);
    const seen = new SeenSet(Buffer.from(run.seen ?? Buffer.alloc(0)));
    const out: ExportSliceResult = {
      checked: run.keys_checked,
      drifted: run.drifted,
      corrected: run.corrected,
      alerted: run.alerted,
      badLines: run.bad_lines,
      missing: run.missing_in_shopify,
      linesDone: Number(run.lines_done),
      linesTotal,
      done: false,
    };

    const processChunk = async (lines: BulkLine[], through: number) => {
      const problems: { line: number; detail: string }[] = [];
      const pairs = new Map<string, { item: string; location: string; available: number }>();
      for (const { n, text } of lines) {
        let row: Record<string, unknown>;
        try {
          row = JSON.parse(text) as Record<string, unknown>;
        } catch (err) {
          problems.push({ line: n, detail: `not JSON (${(err as Error).message}): ${text.slice(0, BAD_LINE_SHOWN)}` });
          continue;
        }
        const parent = row.__parentId;
        if (parent === undefined) continue; // an inventory item's own line; its levels follow as children
        const location = (row.location as { id?: unknown } | undefined)?.id;
        const qty = (row.quantities as { name?: unknown; quantity?: unknown }[] | undefined)?.find((q) => q.name === 'available')?.quantity;
        if (typeof parent !== 'string' || typeof location !== 'string' || typeof qty !== 'number') {
          problems.push({ line: n, detail: `not an inventory level with an available quantity: ${text.slice(0, BAD_LINE_SHOWN)}` });
          continue;
        }
        pairs.set(`${parent}|${location}`, { item: parent, location, available: qty });
      }
      const mappings = await mappingsOfShopifyLevels(deps.db, shopId, [...pairs.values()]);
      const keys = mappings.map((m) => ({ sku: m.sku, locationId: m.location_id }));
      const components = keys.length > 0 ? await readComponents(deps, shopId, keys) : new Map();
      const drifts = findDrifts(mappings, components, (m) => pairs.get(`${m.inventory_item_id}|${m.shopify_location_id}`)!.available);
      const corrected = await correctDrifts(deps.refreshKeys, shopId, drifts);
      for (const m of mappings) seen.add(Number(m.seq) - base);
      const breaches = reconciliation.alert_on_breach ? drifts.filter((d) => Math.abs(d.drift) >= reconciliation.discrepancy_threshold) : [];

      // The chunk's report and the checkpoint after it, in one transaction: a chunk is counted once or redone.
      await checkpointExportChunk(deps.db, {
        runId,
        shopId,
        linesDoneBefore: out.linesDone,
        through,
        seen: seen.bytes,
        checked: mappings.length,
        drifts,
        corrected,
        breaches,
        problems,
      });
      out.checked += mappings.length;
      out.drifted += drifts.length;
      out.corrected += corrected.size;
      out.alerted += breaches.length;
      out.badLines += problems.length;
      out.linesDone = through;
      reconcileKeys.inc({ shop: shopId, result: 'checked' }, mappings.length);
      reconcileKeys.inc({ shop: shopId, result: 'drifted' }, drifts.length);
      reconcileKeys.inc({ shop: shopId, result: 'corrected' }, corrected.size);
      reconcileKeys.inc({ shop: shopId, result: 'breached' }, breaches.length);
      driftUnits.inc({ shop: shopId }, drifts.reduce((sum, d) => sum + Math.abs(d.drift), 0));
      ctx?.heartbeat({ linesDone: through });
      await deps.reconcileRacePoints?.afterCheckpoint?.({ runId, linesDone: through, linesTotal });
    };

    if (run.bulk_url !== null && out.linesDone < linesTotal) {
      const deadline = Date.now() + sliceMs;
      let chunk: BulkLine[] = [];
      const lines = deps.shopify(shopId).bulkLines(run.bulk_url, { skipLines: out.linesDone, bulkOperationId: run.bulk_operation_id!, ...(ctx ? { signal: ctx.cancellationSignal } : {}) });
      for await (const line of lines) {
        chunk.push(line);
        if (chunk.length < chunkLines) continue;
        await processChunk(chunk, line.n);
        chunk = [];
        if (Date.now() >= deadline && out.linesDone < linesTotal) return out;
      }
      // The file may end with lines we never saw (blank ones): the checkpoint still reaches its end.
      await processChunk(chunk, linesTotal);
    }

    if (!run.export_done) out.missing = await finishExport(deps.db, runId, shopId, base, seen.bytes);
    else out.missing = run.missing_in_shopify;
    out.linesDone = linesTotal;
    out.done = true;
    return out;
  }

  return { reconcileExportSlice };
}
