import type { Redis } from 'ioredis';
import { skuLocationKey, type SkuLocation } from '../domain/sku-location.js';
import { COMMITTED_READING_TTL_MS } from './last-seen.js';

/**
 * Keys whose last ATS subtracted a kept `committed` reading (Shopify orders not claimed yet: shopify-unclaimed.ts)
 * are refreshed again once that reading has expired. Without this, a reading that counted an order Shopify then
 * cancelled (or shipped) before we ever claimed it left Shopify's `available` low by that order for as long as
 * nothing else refreshed the key: until the nightly reconciliation (found by the chaos bench).
 *
 * One sorted set per shop: member = the key, score = when to refresh it (ms). A later write moves it later.
 */
const recheckKey = (shopId: string) => `recheck:{${shopId}}`;

/** A little after the reading expires, so the refresh finds it gone. */
export const RECHECK_AFTER_MS = COMMITTED_READING_TTL_MS + 1000;

async function dueAt(redis: Redis, shopId: string, keys: SkuLocation[], at: number): Promise<void> {
  if (keys.length === 0) return;
  await redis.zadd(recheckKey(shopId), ...keys.flatMap((k) => [String(at), skuLocationKey(k)]));
}

export async function scheduleRecheck(redis: Redis, shopId: string, keys: SkuLocation[], now = Date.now()): Promise<void> {
  await dueAt(redis, shopId, keys, now + RECHECK_AFTER_MS);
}

// Takes the due members and removes them in one step, so two workers never both take a key.
const TAKE_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due`;

/** The keys due by `now` (at most `limit`), taken off the set. */
export async function takeDueRechecks(redis: Redis, shopId: string, now = Date.now(), limit = 1000): Promise<SkuLocation[]> {
  const due = (await redis.eval(TAKE_DUE, 1, recheckKey(shopId), String(now), String(limit))) as string[];
  return due.map((member) => {
    const at = member.lastIndexOf('|'); // a SKU may hold '|', a location code may not
    return { sku: member.slice(0, at), locationId: member.slice(at + 1) };
  });
}

/** Puts keys back (their refresh could not be handed over): due again at once. */
export async function restoreRechecks(redis: Redis, shopId: string, keys: SkuLocation[], now = Date.now()): Promise<void> {
  await dueAt(redis, shopId, keys, now);
}
