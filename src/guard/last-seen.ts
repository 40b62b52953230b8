import type { Redis } from 'ioredis';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { GUARD_TTL_SECONDS, guardKey } from './version-guard.js';

/**
 * Shopify's `available` as we last saw it, kept in the key's guard hash (field `s`) beside the version and the
 * lease the Lua script keeps there. Only ever used as the compare value of a compare-and-swap, observed before
 * the sources are read: a wrong one costs a stale round, never a wrong write.
 */
const LAST_SEEN_FIELD = 's';

/** The last-seen quantities of these keys (by `skuLocationKey`), and the keys never seen. */
export async function readLastSeen(redis: Redis, shopId: string, keys: SkuLocation[]): Promise<{ known: Map<string, number | null>; unknown: SkuLocation[] }> {
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.hget(guardKey({ shopId, ...k }), LAST_SEEN_FIELD);
  const cached = ((await pipeline.exec()) ?? []).map(([, v]) => v as string | null);
  const known = new Map<string, number | null>();
  const unknown: SkuLocation[] = [];
  keys.forEach((k, i) => {
    const v = cached[i];
    if (v === null || v === undefined) unknown.push(k);
    else known.set(skuLocationKey(k), Number(v));
  });
  return { known, unknown };
}

/**
 * Remembers what Shopify holds now. `onlyIfUnknown` keeps a value already there (HSETNX: a quantity seen by a
 * write is fresher than one from a bulk export). Every write to a guard hash renews its TTL, so no hash outlives
 * its keys.
 */
export async function rememberLastSeen(redis: Redis, shopId: string, values: [SkuLocation, number][], onlyIfUnknown = false): Promise<void> {
  if (values.length === 0) return;
  const pipeline = redis.pipeline();
  for (const [k, qty] of values) {
    const key = guardKey({ shopId, ...k });
    if (onlyIfUnknown) pipeline.hsetnx(key, LAST_SEEN_FIELD, String(qty));
    else pipeline.hset(key, LAST_SEEN_FIELD, String(qty));
    pipeline.expire(key, GUARD_TTL_SECONDS);
  }
  await pipeline.exec();
}
