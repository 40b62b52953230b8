import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import type { InventoryKey } from '../domain/keys.js';

const GUARD_SCRIPT = readFileSync(new URL('./version-guard.lua', import.meta.url), 'utf8');
const RELEASE_SCRIPT = readFileSync(new URL('./release-lease.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    inventoryGuard(key: string, version: string, quantity: string, ttlSeconds: string, leaseMs: string): Result<[number, number], Context>;
    inventoryGuardRelease(key: string, version: string): Result<number, Context>;
  }
}

export type GuardVerdict =
  | { allowed: true }
  | { allowed: false; newerVersion: number }
  /** An older computation holds the key's write lease: ask again once it has written. */
  | { allowed: false; busyWith: number };

/** Guard hashes expire (seed pitfall: key explosion) long after any computation could still be in flight. */
export const GUARD_TTL_SECONDS = 6 * 3600;
/** A lease outlives any Shopify call of a live computation; a crashed one's lease lapses after this. */
export const GUARD_LEASE_MS = 60_000;

export function guardKey(k: InventoryKey): string {
  return `guard:{${k.shopId}}:${k.sku}:${k.locationId}`;
}

/** Registers the Lua scripts once per connection (EVALSHA with a fallback to EVAL, handled by ioredis). */
export function registerVersionGuard(redis: Redis): void {
  if (typeof (redis as Partial<Redis>).inventoryGuard === 'function') return;
  redis.defineCommand('inventoryGuard', { numberOfKeys: 1, lua: GUARD_SCRIPT });
  redis.defineCommand('inventoryGuardRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
}

/** `leaseMs` > 0 also takes the key's write lease (refresh does; release it with releaseLeases). */
export async function checkVersion(redis: Redis, k: InventoryKey, version: bigint | number, quantity: number, leaseMs = 0): Promise<GuardVerdict> {
  registerVersionGuard(redis);
  const [ok, stored] = await redis.inventoryGuard(guardKey(k), String(version), String(quantity), String(GUARD_TTL_SECONDS), String(leaseMs));
  if (ok === 1) return { allowed: true };
  return ok === 2 ? { allowed: false, busyWith: stored } : { allowed: false, newerVersion: stored };
}

/** `checkVersion` for many keys of one computation in one round trip (pipelined); verdicts in the keys' order. */
export async function checkVersions(redis: Redis, items: { key: InventoryKey; quantity: number }[], version: bigint | number, leaseMs = 0): Promise<GuardVerdict[]> {
  if (items.length === 0) return [];
  registerVersionGuard(redis);
  const pipeline = redis.pipeline();
  for (const { key, quantity } of items) pipeline.inventoryGuard(guardKey(key), String(version), String(quantity), String(GUARD_TTL_SECONDS), String(leaseMs));
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([err, reply]) => {
    if (err) throw err;
    const [ok, stored] = reply as [number, number];
    if (ok === 1) return { allowed: true } as const;
    return ok === 2 ? { allowed: false, busyWith: stored } : { allowed: false, newerVersion: stored };
  });
}

/** Releases the leases this version holds, once its Shopify call has returned (applied, stale or failed). */
export async function releaseLeases(redis: Redis, keys: InventoryKey[], version: bigint | number): Promise<void> {
  if (keys.length === 0) return;
  registerVersionGuard(redis);
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.inventoryGuardRelease(guardKey(k), String(version));
  await pipeline.exec();
}
