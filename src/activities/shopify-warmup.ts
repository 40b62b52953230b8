import type { Redis } from 'ioredis';
import type { Db } from '../db/pool.js';
import { listMappings } from '../db/mappings.js';
import type { SkuLocation } from '../domain/sku-location.js';
import { rememberLastSeen } from '../guard/last-seen.js';

/** The shop's levels in one bulk export: bulk queries cost almost nothing against the shop's budget. */
export const LEVELS_EXPORT = '{ inventoryItems { edges { node { id inventoryLevels { edges { node { location { id } quantities(names: ["available"]) { name quantity } } } } } } } }';

/** A flush with at least this many keys whose Shopify quantity we never saw warms the whole shop instead. */
export const WARMUP_MIN_UNKNOWN = 200;
/** At most one export per shop in this window (a cold start spans many flushes). */
const WARMUP_EVERY_SECONDS = 600;

export interface BulkExportPort {
  runBulkQuery(query: string): AsyncIterable<Record<string, unknown>>;
}

/**
 * Remembers Shopify's `available` for every mapped key of a shop from one bulk export, where we know none yet
 * (HSETNX: a quantity seen later by a write is fresher and stays). Safe as the compare of a later
 * compare-and-swap because it is observed before any computation that uses it reads its sources; if Shopify moved
 * since, that write goes stale and re-reads. Returns how many keys it learned, or 0 when another run warmed recently.
 */
export async function warmShopifyQuantities(deps: { db: Db; redis: Redis }, shopId: string, port: BulkExportPort): Promise<number> {
  const claimed = await deps.redis.set(`warmup:{${shopId}}`, String(Date.now()), 'EX', WARMUP_EVERY_SECONDS, 'NX');
  if (claimed === null) return 0;
  const available = new Map<string, number>();
  for await (const row of port.runBulkQuery(LEVELS_EXPORT)) {
    const parent = row.__parentId;
    const location = (row.location as { id?: string } | undefined)?.id;
    const quantities = row.quantities as { name: string; quantity: number }[] | undefined;
    const qty = quantities?.find((q) => q.name === 'available')?.quantity;
    if (typeof parent === 'string' && location && typeof qty === 'number') available.set(`${parent}|${location}`, qty);
  }
  const learned: [SkuLocation, number][] = [];
  for (const r of await listMappings(deps.db, shopId)) {
    const qty = available.get(`${r.inventory_item_id}|${r.shopify_location_id}`);
    if (qty !== undefined) learned.push([{ sku: r.sku, locationId: r.location_id }, qty]);
  }
  await rememberLastSeen(deps.redis, shopId, learned, true);
  return learned.length;
}
