import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { type AtsComponents, computeAts } from '../domain/ats.js';
import { Errors } from '../domain/errors.js';
import { guardKey, checkVersion } from '../guard/version-guard.js';
import type { EntryResult, LevelPair, LevelQuantities, SetAvailableEntry, SetAvailableOptions } from '../shopify/client/types.js';
import type { SkuLocation, SourceAdapter } from '../sources/adapter.js';
import { skuLocationKey } from '../sources/adapter.js';
import { readComponents } from './ats-components.js';
import { writeAudit, type AuditRow } from './audit.js';

/** What refresh needs from Shopify; the budget-aware client implements it. */
export interface ShopifyInventoryPort {
  setAvailable(entries: SetAvailableEntry[], opts: SetAvailableOptions): Promise<EntryResult[]>;
  readLevels(pairs: LevelPair[], names?: string[]): Promise<Map<string, LevelQuantities>>;
}

export interface RefreshDeps {
  db: Db;
  redis: Redis;
  config: Config;
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyInventoryPort;
}

export interface RefreshInput {
  shopId: string;
  keys: SkuLocation[];
  /** Why: 'source_event', 'claim', 'delta_sync', 'reconciliation', ... (recorded in the audit log). */
  trigger: string;
}

export interface RefreshSummary {
  version: string;
  applied: number;
  unchanged: number;
  skipped: number;
  failed: number;
  /** ATS written per key (`sku|location`), for callers and tests. */
  written: Record<string, number>;
}

interface Mapping {
  inventoryItemId: string;
  shopifyLocationId: string;
}

/** A stale compare means Shopify moved under us (an order, a merchant edit): re-read, recompute, new key. */
const MAX_STALE_ROUNDS = 3;

async function loadMappings(db: Db, shopId: string, keys: SkuLocation[]): Promise<Map<string, Mapping>> {
  const { rows } = await db.query<{ sku: string; location_id: string; inventory_item_id: string; shopify_location_id: string }>(
    `SELECT m.sku, m.location_id, m.inventory_item_id, m.shopify_location_id
       FROM mappings m JOIN unnest($2::text[], $3::text[]) AS k(sku, location_id) USING (sku, location_id)
      WHERE m.shop_id = $1`,
    [shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
  return new Map(rows.map((r) => [skuLocationKey({ sku: r.sku, locationId: r.location_id }), { inventoryItemId: r.inventory_item_id, shopifyLocationId: r.shopify_location_id }]));
}

async function nextVersion(db: Db): Promise<bigint> {
  const { rows } = await db.query<{ v: string }>(`SELECT nextval('ats_version')::text AS v`);
  return BigInt(rows[0]!.v);
}

export function createRefreshActivities(deps: RefreshDeps) {
  const { db, redis } = deps;

  /** Shopify's quantity as we last saw it, from the guard hash; unknown keys are read from Shopify in bulk. */
  async function knownShopifyQuantities(shopId: string, keys: SkuLocation[], mappings: Map<string, Mapping>): Promise<Map<string, number | null>> {
    const cached = await Promise.all(keys.map((k) => redis.hget(guardKey({ shopId, ...k }), 's')));
    const known = new Map<string, number | null>();
    const unknown: SkuLocation[] = [];
    keys.forEach((k, i) => {
      const v = cached[i];
      if (v === null || v === undefined) unknown.push(k);
      else known.set(skuLocationKey(k), Number(v));
    });
    if (unknown.length > 0) {
      const levels = await deps.shopify(shopId).readLevels(
        unknown.map((k) => {
          const m = mappings.get(skuLocationKey(k))!;
          return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId };
        }),
        ['available'],
      );
      for (const k of unknown) {
        const m = mappings.get(skuLocationKey(k))!;
        known.set(skuLocationKey(k), levels.get(`${m.inventoryItemId}|${m.shopifyLocationId}`)?.available ?? null);
      }
    }
    return known;
  }

  async function rememberShopify(shopId: string, values: [SkuLocation, number][]): Promise<void> {
    if (values.length === 0) return;
    const pipeline = redis.pipeline();
    for (const [k, qty] of values) pipeline.hset(guardKey({ shopId, ...k }), 's', String(qty));
    await pipeline.exec();
  }

  /**
   * Computes ATS for a batch of keys of one shop and makes Shopify's `available` equal to it, through the
   * version guard and a compare-and-swap write. One audit row per key and write.
   */
  async function refreshKeys(input: RefreshInput): Promise<RefreshSummary> {
    const { shopId, trigger } = input;
    const summary: RefreshSummary = { version: '', applied: 0, unchanged: 0, skipped: 0, failed: 0, written: {} };
    const audit: AuditRow[] = [];
    const mappings = await loadMappings(db, shopId, input.keys);
    let pending: SkuLocation[] = [];
    for (const k of dedupe(input.keys)) {
      if (mappings.has(skuLocationKey(k))) pending.push(k);
      else {
        audit.push({ shopId, ...k, trigger, outcome: 'unmapped', errorCode: Errors.UnknownSku.code });
        summary.skipped++;
      }
    }

    for (let round = 0; round < MAX_STALE_ROUNDS && pending.length > 0; round++) {
      // The version is taken before any source is read, so a computation that read older data carries an older version.
      const version = await nextVersion(db);
      summary.version = version.toString();
      const components = await readComponents(deps, shopId, pending);
      const toWrite: { key: SkuLocation; ats: number; components: AtsComponents }[] = [];
      for (const key of pending) {
        const c = components.get(skuLocationKey(key))!;
        if (c.status === 'no_on_hand') {
          audit.push({ shopId, ...key, trigger, version, outcome: 'no_on_hand', detail: 'no ERP holds an on-hand quantity for this key' });
          summary.skipped++;
          continue;
        }
        const ats = computeAts(c.components);
        const verdict = await checkVersion(redis, { shopId, ...key }, version, ats);
        if (!verdict.allowed) {
          audit.push({ shopId, ...key, trigger, version, components: c.components, ats, outcome: 'superseded', detail: `version ${verdict.newerVersion} is newer` });
          summary.skipped++;
          continue;
        }
        toWrite.push({ key, ats, components: c.components });
      }
      if (toWrite.length === 0) break;

      const known = await knownShopifyQuantities(shopId, toWrite.map((w) => w.key), mappings);
      const entries = toWrite.map((w) => {
        const m = mappings.get(skuLocationKey(w.key))!;
        return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId, quantity: w.ats, changeFromQuantity: known.get(skuLocationKey(w.key)) ?? null };
      });
      const results = await deps.shopify(shopId).setAvailable(entries, {
        reason: 'correction',
        referenceDocumentUri: `gid://inventory-sync/Refresh/${version}`,
        keySalt: `v${version}`,
      });

      const seen: [SkuLocation, number][] = [];
      const stale: SkuLocation[] = [];
      results.forEach((r, i) => {
        const w = toWrite[i]!;
        const previous = entries[i]!.changeFromQuantity;
        const row: AuditRow = { shopId, ...w.key, trigger, version, components: w.components, ats: w.ats, previousShopify: previous, idempotencyKey: `v${version}`, outcome: r.status };
        if (r.status === 'applied') {
          row.delta = previous === null ? null : w.ats - previous;
          seen.push([w.key, r.quantityAfter]);
          if (previous === w.ats) summary.unchanged++;
          else summary.applied++;
          summary.written[skuLocationKey(w.key)] = w.ats;
        } else if (r.status === 'stale') {
          if (r.actual !== null) seen.push([w.key, r.actual]);
          row.detail = `Shopify held ${r.actual ?? 'unknown'}, not ${previous}`;
          stale.push(w.key);
        } else {
          row.errorCode = r.code;
          row.detail = r.message;
          summary.failed++;
        }
        audit.push(row);
      });
      await rememberShopify(shopId, seen);
      pending = stale;
    }
    for (const k of pending) {
      audit.push({ shopId, ...k, trigger, outcome: 'stale_exhausted', detail: `still stale after ${MAX_STALE_ROUNDS} rounds; the next refresh or reconciliation retries` });
      summary.failed++;
    }
    await writeAudit(db, audit);
    return summary;
  }

  return { refreshKeys };
}

function dedupe(keys: SkuLocation[]): SkuLocation[] {
  const map = new Map(keys.map((k) => [skuLocationKey(k), k]));
  return [...map.values()];
}
