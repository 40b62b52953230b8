import { Context } from '@temporalio/activity';
import { boundShops, type Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { Errors } from '../domain/errors.js';
import { clip, keyProblem, MAX_SHOP_ID_LENGTH } from '../domain/limits.js';
import { writeAudit, type AuditRow } from '../db/audit.js';
import { deleteWatermark, readWatermark, writeWatermark } from '../db/watermarks.js';
import { storeChangedReadings, storeNewerChanges } from '../db/source-snapshots.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { markDirty, waitForRefreshRoom, type MarkDirtyDeps } from '../temporal/handoff.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';

export interface DeltaSyncDeps extends MarkDirtyDeps {
  db: Db;
  config: Config;
  sources: SourceAdapter[];
}

export interface SyncBatchInput {
  source: string;
  /** `delta` reads the change feed after the watermark; `full` pages through the whole source. */
  mode: 'delta' | 'full';
  /** Full mode: hand on every reading, changed or not (`sync --full --force`). */
  force?: boolean;
}

export interface SyncBatchResult {
  /** Changes (delta) or readings (full) read in this batch. */
  read: number;
  /** Distinct keys handed to the shops' refresh workflows. */
  keysMarked: number;
  /** Rows audited and skipped (unknown shop, a shop the source is not bound to, an overlong id). */
  rejected?: number;
  /** The checkpoint after this batch. */
  cursor: string | null;
  done: boolean;
}

/** A batch heartbeats this often while it runs (the workflow's heartbeat timeout is 20 s). */
const HEARTBEAT_EVERY_MS = 5_000;

/** Full-refresh progress is checkpointed beside the delta watermark, under its own name. */
const fullCheckpoint = (source: string) => `${source}#full`;

function groupByShop(items: { shopId: string; sku: string; locationId: string }[], dedupe: boolean): Map<string, SkuLocation[]> {
  const byShop = new Map<string, Map<string, SkuLocation>>();
  let n = 0;
  for (const item of items) {
    let keys = byShop.get(item.shopId);
    if (!keys) byShop.set(item.shopId, (keys = new Map()));
    keys.set(dedupe ? skuLocationKey(item) : String(n++), { sku: item.sku, locationId: item.locationId });
  }
  return new Map([...byShop].map(([shop, keys]) => [shop, [...keys.values()]]));
}

/**
 * A source's rows we can hand on, and audit rows for the others. A bad row never stops a sync: it is skipped and
 * recorded, and the checkpoint still moves past it (one overlong id used to fail every run, forever).
 */
function screenRows<R extends { shopId: string; sku: string; locationId: string }>(config: Config, source: string, rows: R[], trigger: string): { accepted: R[]; rejected: AuditRow[] } {
  const sourceConfig = config.sources.find((s) => s.name === source);
  const shops = new Set(sourceConfig ? boundShops(config, sourceConfig) : []);
  const accepted: R[] = [];
  const rejected: AuditRow[] = [];
  for (const r of rows) {
    const problem = keyProblem(r);
    const reason = problem
      ? { code: Errors.PayloadInvalid.code, detail: problem }
      : !shops.has(r.shopId)
        ? { code: Errors.Forbidden.code, detail: `source "${source}" is not bound to shop "${r.shopId}" (or the shop is not configured)` }
        : null;
    if (!reason) {
      accepted.push(r);
      continue;
    }
    rejected.push({
      shopId: clip(r.shopId, MAX_SHOP_ID_LENGTH),
      sku: clip(r.sku, 255),
      locationId: clip(r.locationId, 255),
      trigger,
      outcome: 'rejected',
      errorCode: reason.code,
      detail: `row skipped: ${reason.detail}`,
    });
  }
  return { accepted, rejected };
}

export function createDeltaSyncActivities(deps: DeltaSyncDeps) {
  const source = (name: string): SourceAdapter => {
    const adapter = deps.sources.find((s) => s.name === name);
    if (!adapter) throw Errors.UnknownSource(`source "${name}" is not in the configuration`);
    return adapter;
  };

  /**
   * One batch of a source's sync. The checkpoint moves to the last change actually handed on, only after the
   * hand-off succeeded: a crash repeats at most this batch (harmless: refreshes are idempotent), never skips one.
   */
  async function syncBatch(input: SyncBatchInput): Promise<SyncBatchResult> {
    // Heartbeats while it runs: runs started after patch delta-sync-heartbeat give it a 20 s heartbeat timeout, so
    // a batch lost with a killed worker is retried after 20 s rather than its 5-minute StartToClose (found by
    // bench/chaos: a scheduled run outlived the quiet period). Earlier runs ignore the heartbeats.
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await syncBatchOnce(input, ctx.cancellationSignal, ctx.info.attempt > 1);
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * `retried`: an earlier attempt of this batch may have stored its readings and died (or failed to hand them on)
   * before the hand-off; this attempt then finds them stored already, so it hands on every accepted row of the
   * batch, not only those that changed what is stored (a lost hand-off left Shopify stale until the key's next change).
   */
  async function syncBatchOnce(input: SyncBatchInput, signal: AbortSignal, retried: boolean): Promise<SyncBatchResult> {
    const adapter = source(input.source);
    const { batch_size: limit, deduplication } = deps.config.inventory_sync.delta_sync;
    if (input.mode === 'delta') {
      if (!adapter.changesSince) throw Errors.ConfigInvalid(`source "${input.source}" has no change feed; give it mode: full`);
      const watermark = await readWatermark(deps.db, input.source);
      const changes = await adapter.changesSince(watermark, limit, signal);
      const trigger = `delta_sync:${input.source}`;
      const { accepted, rejected } = screenRows(deps.config, input.source, changes, trigger);
      await writeAudit(deps.db, rejected);
      // A pulled feed is kept as the source's snapshot (WMS totals convert claims through it); pushed sources
      // already hold theirs.
      const news = adapter.storesSnapshots
        ? accepted
        : await storeNewerChanges(deps.db, input.source, accepted, deps.config.inventory_sync.source_events.max_clock_skew_seconds);
      let keysMarked = 0;
      for (const [shopId, keys] of groupByShop(retried ? accepted : news, deduplication)) {
        await markDirty(deps, { shopId, keys, trigger });
        keysMarked += keys.length;
      }
      // Past the last change read, skipped ones included.
      const last = changes.at(-1);
      const done = changes.length < limit;
      // At the end of a run, a source that needs a lookback leaves the watermark where the next run starts.
      const position = last?.cursor ?? watermark;
      const next = done && adapter.rewind ? adapter.rewind(position) : position;
      if (next !== null && next !== watermark) await writeWatermark(deps.db, input.source, next, changes.length);
      return { read: changes.length, keysMarked, rejected: rejected.length, cursor: next, done };
    }

    if (!adapter.snapshot) throw Errors.ConfigInvalid(`source "${input.source}" cannot be read whole; give it mode: delta`);
    const name = fullCheckpoint(input.source);
    const page = await adapter.snapshot(await readWatermark(deps.db, name), limit, signal);
    const trigger = `full_sync:${input.source}`;
    const { accepted, rejected } = screenRows(deps.config, input.source, page.readings, trigger);
    await writeAudit(deps.db, rejected);
    const changed = await storeChangedReadings(deps.db, input.source, accepted);
    const handOn = input.force || retried ? accepted : changed;
    let keysMarked = 0;
    for (const [shopId, keys] of groupByShop(handOn, true)) {
      // A full sync (forced: every key of the catalogue) can hand on keys faster than the refresh writes them:
      // wait while the shop's refresh has a large backlog (its history would grow past Temporal's limit otherwise).
      await waitForRefreshRoom(deps, shopId, keys.length, { signal });
      await markDirty(deps, { shopId, keys, trigger });
      keysMarked += keys.length;
    }
    if (page.nextCursor === null) await deleteWatermark(deps.db, name);
    else await writeWatermark(deps.db, name, page.nextCursor, page.readings.length);
    return { read: page.readings.length, keysMarked, rejected: rejected.length, cursor: page.nextCursor, done: page.nextCursor === null };
  }

  return { syncBatch };
}
