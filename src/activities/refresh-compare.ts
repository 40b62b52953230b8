import { heldForShopifyOrders } from '../db/claims.js';
import type { ShopifyMapping } from '../db/mappings.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { type CommittedReading, readLastSeen, rememberLastSeen, type SeenLevel } from '../guard/last-seen.js';
import type { AttemptScope } from './attempt-scope.js';
import { boundsOf, type RefreshRuntime } from './refresh-types.js';
import { readingOutlived } from './shopify-unclaimed.js';
import { WARMUP_MIN_UNKNOWN, warmShopifyQuantities } from './shopify-warmup.js';

/**
 * What a round knows of Shopify per key (by `skuLocationKey`): the compare value, the kept committed readings, and
 * the keys whose compare value this round read from Shopify itself (not remembered from an earlier round).
 */
export type ShopifyKnown = { known: Map<string, number | null>; committed: Map<string, CommittedReading>; readNow: Set<string> };

/**
 * Step 2 of a refresh round: Shopify's `available` for the keys, the compare value of the write. From the guard
 * hash where we have seen it and Shopify has not moved it since; else one bulk export for a cold shop (200+
 * unseen keys); else a bulk level read.
 */
export async function knownShopifyQuantities(rt: RefreshRuntime, shopId: string, keys: SkuLocation[], mappings: Map<string, ShopifyMapping>, scope: AttemptScope): Promise<ShopifyKnown> {
  const { deps } = rt;
  let { known, unknown, doubtful, committed } = await readLastSeen(deps.redis, shopId, keys);
  const port = deps.shopify(shopId);
  if (unknown.length >= WARMUP_MIN_UNKNOWN && port.runBulkQuery) {
    const bulk = port.runBulkQuery.bind(port);
    // A failed export only costs the reads below.
    const learned = await warmShopifyQuantities(deps, shopId, { runBulkQuery: bulk }).catch(() => 0);
    if (learned > 0) ({ known, unknown, doubtful, committed } = await readLastSeen(deps.redis, shopId, keys));
  }
  // Keys Shopify moved itself since we saw them (a checkout, a restock) are read with the unseen ones: their
  // `committed` comes with them, so the round also subtracts checkouts we have not claimed yet.
  const toRead = [...unknown, ...doubtful];
  const into: ShopifyKnown = { known, committed, readNow: new Set() };
  if (toRead.length > 0) {
    // What our claims hold is read before Shopify is, so the reading can later tell a release that came after it.
    const held = await heldForShopifyOrders(deps.db, shopId, toRead);
    await readLevelsInto(rt, shopId, toRead, mappings, held, scope, into);
  }
  return into;
}

/**
 * A kept committed reading that our claims have released units since (a fulfilment or cancellation we handled
 * after the reading, which may or may not be in it) cannot tell unclaimed orders from released units: these keys'
 * `available` and `committed` are read again, after `held` (what our claims hold now) was read. Changes `into`.
 */
export async function rereadOutlivedReadings(rt: RefreshRuntime, shopId: string, keys: SkuLocation[], mappings: Map<string, ShopifyMapping>, held: Map<string, number>, scope: AttemptScope, into: ShopifyKnown, opts: { all?: boolean } = {}): Promise<number> {
  const outlived = keys.filter((k) => {
    const reading = into.committed.get(skuLocationKey(k));
    return reading !== undefined && (opts.all === true || readingOutlived(reading, held.get(skuLocationKey(k)) ?? 0));
  });
  if (outlived.length > 0) await readLevelsInto(rt, shopId, outlived, mappings, held, scope, into);
  return outlived.length;
}

/** One bulk level read (`available` and `committed` cost the same as `available` alone), remembered and merged into `into`. */
async function readLevelsInto(rt: RefreshRuntime, shopId: string, keys: SkuLocation[], mappings: Map<string, ShopifyMapping>, heldBefore: Map<string, number>, scope: AttemptScope, into: ShopifyKnown): Promise<void> {
  const levels = await rt.deps.shopify(shopId).readLevels(
    keys.map((k) => {
      const m = mappings.get(skuLocationKey(k))!;
      return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId };
    }),
    ['available', 'committed'],
    boundsOf(scope),
  );
  const read: SeenLevel[] = [];
  for (const k of keys) {
    const m = mappings.get(skuLocationKey(k))!;
    const level = levels.get(`${m.inventoryItemId}|${m.shopifyLocationId}`);
    const held = heldBefore.get(skuLocationKey(k)) ?? 0;
    into.known.set(skuLocationKey(k), level?.available ?? null);
    if (level?.committed !== undefined) into.committed.set(skuLocationKey(k), { committed: level.committed, heldBefore: held });
    else into.committed.delete(skuLocationKey(k));
    if (level?.available !== undefined) {
      into.readNow.add(skuLocationKey(k));
      read.push([k, level.available, level.committed ?? null, held]);
    }
  }
  await rememberLastSeen(rt.deps.redis, shopId, read);
}
