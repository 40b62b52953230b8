import type { ShopifyMapping } from '../db/mappings.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { readLastSeen, rememberLastSeen } from '../guard/last-seen.js';
import type { AttemptScope } from './attempt-scope.js';
import { boundsOf, type RefreshRuntime } from './refresh-types.js';
import { WARMUP_MIN_UNKNOWN, warmShopifyQuantities } from './shopify-warmup.js';

/**
 * Step 2 of a refresh round: Shopify's `available` for the keys, the compare value of the write. From the guard
 * hash where we have seen it; else one bulk export for a cold shop (200+ unseen keys); else a bulk level read.
 */
export async function knownShopifyQuantities(rt: RefreshRuntime, shopId: string, keys: SkuLocation[], mappings: Map<string, ShopifyMapping>, scope: AttemptScope): Promise<{ known: Map<string, number | null>; committed: Map<string, number> }> {
  const { deps } = rt;
  let { known, unknown, committed } = await readLastSeen(deps.redis, shopId, keys);
  const port = deps.shopify(shopId);
  if (unknown.length >= WARMUP_MIN_UNKNOWN && port.runBulkQuery) {
    const bulk = port.runBulkQuery.bind(port);
    // A failed export only costs the reads below.
    const learned = await warmShopifyQuantities(deps, shopId, { runBulkQuery: bulk }).catch(() => 0);
    if (learned > 0) ({ known, unknown, committed } = await readLastSeen(deps.redis, shopId, keys));
  }
  if (unknown.length > 0) {
    const levels = await deps.shopify(shopId).readLevels(
      unknown.map((k) => {
        const m = mappings.get(skuLocationKey(k))!;
        return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId };
      }),
      // `committed` comes with `available` at no extra cost (the quantities list costs one object).
      ['available', 'committed'],
      boundsOf(scope),
    );
    const read: [SkuLocation, number, number | null][] = [];
    for (const k of unknown) {
      const m = mappings.get(skuLocationKey(k))!;
      const level = levels.get(`${m.inventoryItemId}|${m.shopifyLocationId}`);
      known.set(skuLocationKey(k), level?.available ?? null);
      if (level?.committed !== undefined) committed.set(skuLocationKey(k), level.committed);
      if (level?.available !== undefined) read.push([k, level.available, level.committed ?? null]);
    }
    await rememberLastSeen(deps.redis, shopId, read);
  }
  return { known, committed };
}
