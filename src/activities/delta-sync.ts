import { Context } from '@temporalio/activity';
import { boundShops, type Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { Errors } from '../domain/errors.js';
import { clip, keyTooLong, MAX_SHOP_ID_LENGTH } from '../domain/limits.js';
import { writeAudit, type AuditRow } from '../db/audit.js';
import { changeColumns } from '../db/source-changes.js';
import type { SourceAdapter, SourceChange, SourceReading } from '../sources/adapter.js';
import { markDirty, type MarkDirtyDeps } from '../temporal/handoff.js';
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

/** Full-refresh progress is checkpointed beside the delta watermark, under its own name. */
const fullCheckpoint = (source: string) => `${source}#full`;

async function readCheckpoint(db: Db, name: string): Promise<string | null> {
  const { rows } = await db.query<{ cursor: string }>('SELECT cursor FROM watermarks WHERE source = $1', [name]);
  return rows[0]?.cursor ?? null;
}

async function writeCheckpoint(db: Db, name: string, cursor: string, items: number): Promise<void> {
  await db.query(
    `INSERT INTO watermarks (source, cursor, items_processed) VALUES ($1, $2, $3)
     ON CONFLICT (source) DO UPDATE SET cursor = EXCLUDED.cursor, items_processed = watermarks.items_processed + EXCLUDED.items_processed, updated_at = now()`,
    [name, cursor, items],
  );
}

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
    const tooLong = keyTooLong(r);
    const reason = tooLong
      ? { code: Errors.PayloadInvalid.code, detail: tooLong }
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

/**
 * Stores a pulled change feed's changes as the source's snapshot (newest `occurred_at` wins, so a WMS total
 * converts confirmed allocations through the snapshot trigger however it arrived) and returns the changes that
 * were news: a change the snapshot already holds (a lookback window read again) is dropped here.
 * A stored reading dated beyond the clock-skew allowance never blocks a newer one.
 */
async function newerChanges(db: Db, source: string, changes: SourceChange[], maxSkewSeconds: number): Promise<{ shopId: string; sku: string; locationId: string }[]> {
  if (changes.length === 0) return [];
  const { rows } = await db.query<{ shop_id: string; sku: string; location_id: string }>(
    `WITH incoming AS (
       SELECT DISTINCT ON (shop_id, sku, location_id) *
         FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[]) WITH ORDINALITY AS r(shop_id, sku, location_id, quantity, occurred_at, ord)
        ORDER BY shop_id, sku, location_id, occurred_at DESC, ord DESC
     )
     INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at)
     SELECT $1, shop_id, sku, location_id, quantity, occurred_at FROM incoming
     ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
       SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, updated_at = now()
       WHERE s.occurred_at < EXCLUDED.occurred_at
          OR (s.occurred_at = EXCLUDED.occurred_at AND s.quantity <> EXCLUDED.quantity)
          OR s.occurred_at > now() + make_interval(secs => $7)
     RETURNING s.shop_id, s.sku, s.location_id`,
    [source, ...changeColumns(changes), maxSkewSeconds],
  );
  return rows.map((r) => ({ shopId: r.shop_id, sku: r.sku, locationId: r.location_id }));
}

/** Readings that differ from what we last saw of this source; stores the new ones as the source's snapshot. */
async function changedReadings(db: Db, source: string, readings: SourceReading[]): Promise<SourceReading[]> {
  if (readings.length === 0) return [];
  const { rows } = await db.query<{ shop_id: string; sku: string; location_id: string }>(
    `WITH incoming AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS r(shop_id, sku, location_id, quantity)
     ), upserted AS (
       INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at)
       SELECT $1, i.shop_id, i.sku, i.location_id, i.quantity, now() FROM incoming i
       ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
         SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, updated_at = now()
         WHERE s.quantity IS DISTINCT FROM EXCLUDED.quantity
       RETURNING s.shop_id, s.sku, s.location_id
     ) SELECT * FROM upserted`,
    [source, readings.map((r) => r.shopId), readings.map((r) => r.sku), readings.map((r) => r.locationId), readings.map((r) => r.quantity)],
  );
  return rows.map((r) => ({ shopId: r.shop_id, sku: r.sku, locationId: r.location_id, quantity: 0 }));
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
    const adapter = source(input.source);
    const { batch_size: limit, deduplication } = deps.config.inventory_sync.delta_sync;
    const signal = Context.current().cancellationSignal;
    if (input.mode === 'delta') {
      if (!adapter.changesSince) throw Errors.ConfigInvalid(`source "${input.source}" has no change feed; give it mode: full`);
      const watermark = await readCheckpoint(deps.db, input.source);
      const changes = await adapter.changesSince(watermark, limit, signal);
      const trigger = `delta_sync:${input.source}`;
      const { accepted, rejected } = screenRows(deps.config, input.source, changes, trigger);
      await writeAudit(deps.db, rejected);
      // A pulled feed is kept as the source's snapshot (WMS totals convert claims through it); pushed sources
      // already hold theirs.
      const news = adapter.storesSnapshots
        ? accepted
        : await newerChanges(deps.db, input.source, accepted, deps.config.inventory_sync.source_events.max_clock_skew_seconds);
      let keysMarked = 0;
      for (const [shopId, keys] of groupByShop(news, deduplication)) {
        await markDirty(deps, { shopId, keys, trigger });
        keysMarked += keys.length;
      }
      // Past the last change read, skipped ones included.
      const last = changes.at(-1);
      const done = changes.length < limit;
      // At the end of a run, a source that needs a lookback leaves the watermark where the next run starts.
      const position = last?.cursor ?? watermark;
      const next = done && adapter.rewind ? adapter.rewind(position) : position;
      if (next !== null && next !== watermark) await writeCheckpoint(deps.db, input.source, next, changes.length);
      return { read: changes.length, keysMarked, rejected: rejected.length, cursor: next, done };
    }

    if (!adapter.snapshot) throw Errors.ConfigInvalid(`source "${input.source}" cannot be read whole; give it mode: delta`);
    const name = fullCheckpoint(input.source);
    const page = await adapter.snapshot(await readCheckpoint(deps.db, name), limit, signal);
    const trigger = `full_sync:${input.source}`;
    const { accepted, rejected } = screenRows(deps.config, input.source, page.readings, trigger);
    await writeAudit(deps.db, rejected);
    const changed = await changedReadings(deps.db, input.source, accepted);
    const handOn = input.force ? accepted : changed;
    let keysMarked = 0;
    for (const [shopId, keys] of groupByShop(handOn, true)) {
      await markDirty(deps, { shopId, keys, trigger });
      keysMarked += keys.length;
    }
    if (page.nextCursor === null) await deps.db.query('DELETE FROM watermarks WHERE source = $1', [name]);
    else await writeCheckpoint(deps.db, name, page.nextCursor, page.readings.length);
    return { read: page.readings.length, keysMarked, rejected: rejected.length, cursor: page.nextCursor, done: page.nextCursor === null };
  }

  return { syncBatch };
}
