import type { Redis } from 'ioredis';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { GUARD_TTL_SECONDS, guardKey } from './version-guard.js';

/**
 * Shopify's `available` as we last saw it, kept in the key's guard hash (field `s`) beside the version and the
 * lease the Lua script keeps there. Only ever used as the compare value of a compare-and-swap, observed before
 * the sources are read: a wrong one costs a stale round, never a wrong write.
 */
export const LAST_SEEN_FIELD = 's';
/**
 * Shopify's `committed` from the same read as `s`, and when it was read: kept only while Shopify has committed
 * units to orders we have not claimed yet (src/activities/shopify-unclaimed.ts).
 */
const COMMITTED_FIELD = 'c';
const COMMITTED_AT_FIELD = 'ct';
/** A committed reading is trusted this long; after that it is ignored (a shipment lowers committed silently). */
export const COMMITTED_READING_TTL_MS = 120_000;

/**
 * The last-seen quantities of these keys (by `skuLocationKey`), the keys never seen, and the committed readings
 * still kept (by `skuLocationKey`).
 */
export async function readLastSeen(redis: Redis, shopId: string, keys: SkuLocation[]): Promise<{ known: Map<string, number | null>; unknown: SkuLocation[]; committed: Map<string, number> }> {
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.hmget(guardKey({ shopId, ...k }), LAST_SEEN_FIELD, COMMITTED_FIELD, COMMITTED_AT_FIELD);
  const cached = ((await pipeline.exec()) ?? []).map(([, v]) => (v as (string | null)[] | null) ?? [null, null, null]);
  const known = new Map<string, number | null>();
  const committed = new Map<string, number>();
  const unknown: SkuLocation[] = [];
  keys.forEach((k, i) => {
    const [v, c, ct] = cached[i] ?? [null, null, null];
    if (v === null || v === undefined) unknown.push(k);
    else known.set(skuLocationKey(k), Number(v));
    if (c !== null && c !== undefined && Date.now() - Number(ct ?? 0) <= COMMITTED_READING_TTL_MS) committed.set(skuLocationKey(k), Number(c));
  });
  return { known, unknown, committed };
}

/** Drops the committed readings of these keys (their Shopify orders are all claimed). */
export async function forgetCommitted(redis: Redis, shopId: string, keys: SkuLocation[]): Promise<void> {
  if (keys.length === 0) return;
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.hdel(guardKey({ shopId, ...k }), COMMITTED_FIELD, COMMITTED_AT_FIELD);
  await pipeline.exec();
}

/**
 * Remembers what Shopify holds now. `onlyIfUnknown` keeps a value already there (HSETNX: a quantity seen by a
 * write is fresher than one from a bulk export). Every write to a guard hash renews its TTL, so no hash outlives
 * its keys.
 */
export async function rememberLastSeen(redis: Redis, shopId: string, values: [SkuLocation, number, (number | null)?][], onlyIfUnknown = false): Promise<void> {
  if (values.length === 0) return;
  const pipeline = redis.pipeline();
  for (const [k, qty, committed] of values) {
    const key = guardKey({ shopId, ...k });
    if (onlyIfUnknown) pipeline.hsetnx(key, LAST_SEEN_FIELD, String(qty));
    else pipeline.hset(key, LAST_SEEN_FIELD, String(qty));
    // `committed` read with this `available` (a stale compare's re-read, a level read): see shopify-unclaimed.ts.
    if (committed !== undefined && committed !== null) pipeline.hset(key, COMMITTED_FIELD, String(committed), COMMITTED_AT_FIELD, String(Date.now()));
    pipeline.expire(key, GUARD_TTL_SECONDS);
  }
  await pipeline.exec();
}

/** The committed reading kept for one key and when it was read, or undefined when none is kept (for `explain`). */
export async function readCommitted(redis: Redis, shopId: string, key: SkuLocation): Promise<{ committed: number; at: number } | undefined> {
  const [c, ct] = await redis.hmget(guardKey({ shopId, ...key }), COMMITTED_FIELD, COMMITTED_AT_FIELD);
  if (c === null || c === undefined || Date.now() - Number(ct ?? 0) > COMMITTED_READING_TTL_MS) return undefined;
  return { committed: Number(c), at: Number(ct) };
}
