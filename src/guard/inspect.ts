import type { Redis } from 'ioredis';
import type { InventoryKey } from '../domain/keys.js';
import { DOUBTFUL_FIELD, LAST_SEEN_FIELD } from './last-seen.js';
import { guardKey } from './version-guard.js';

/** What a key's guard hash says now (for `explain`): read only, never changes it. */
export interface GuardState {
  /** The newest computation the guard let write, and the quantity it was to write. */
  version: string | null;
  quantity: number | null;
  /** Held by a computation between its guard check and the end of its Shopify write; null when free or lapsed. */
  lease: { version: string; attempt: number; expiresInMs: number } | null;
  /** Shopify's `available` as last seen (the next compare value). */
  lastSeenShopify: number | null;
  /** Shopify moved the key itself since it was last seen (an order, a restock): the next refresh reads it again. */
  lastSeenDoubtful: boolean;
}

/** Reads the hash the Lua script keeps (`version-guard.lua`: v, q, lv, la, lx) with Redis's own clock. */
export async function inspectGuard(redis: Redis, key: InventoryKey): Promise<GuardState> {
  const [hash, time] = await Promise.all([redis.hgetall(guardKey(key)), redis.time()]);
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const num = (v: string | undefined) => (v === undefined ? null : Number(v));
  const expiry = num(hash.lx) ?? 0;
  return {
    version: hash.v ?? null,
    quantity: num(hash.q),
    lease: hash.lv !== undefined && expiry > now ? { version: hash.lv, attempt: num(hash.la) ?? 1, expiresInMs: expiry - now } : null,
    lastSeenShopify: num(hash[LAST_SEEN_FIELD]),
    lastSeenDoubtful: hash[LAST_SEEN_FIELD] !== undefined && hash[DOUBTFUL_FIELD] === '1',
  };
}
