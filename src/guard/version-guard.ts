import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import type { InventoryKey } from '../domain/keys.js';

const SCRIPT = readFileSync(new URL('./version-guard.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    inventoryGuard(key: string, version: string, quantity: string, ttlSeconds: string): Result<[number, number], Context>;
  }
}

export type GuardVerdict = { allowed: true } | { allowed: false; newerVersion: number };

/** Guard hashes expire (seed pitfall: key explosion) long after any computation could still be in flight. */
export const GUARD_TTL_SECONDS = 6 * 3600;

export function guardKey(k: InventoryKey): string {
  return `guard:{${k.shopId}}:${k.sku}:${k.locationId}`;
}

/** Registers the Lua script once per connection (EVALSHA with a fallback to EVAL, handled by ioredis). */
export function registerVersionGuard(redis: Redis): void {
  if (typeof (redis as Partial<Redis>).inventoryGuard === 'function') return;
  redis.defineCommand('inventoryGuard', { numberOfKeys: 1, lua: SCRIPT });
}

export async function checkVersion(redis: Redis, k: InventoryKey, version: bigint | number, quantity: number): Promise<GuardVerdict> {
  registerVersionGuard(redis);
  const [ok, stored] = await redis.inventoryGuard(guardKey(k), String(version), String(quantity), String(GUARD_TTL_SECONDS));
  return ok === 1 ? { allowed: true } : { allowed: false, newerVersion: stored };
}
