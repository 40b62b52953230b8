import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import type { InventoryKey } from '../domain/keys.js';

const GUARD_SCRIPT = readFileSync(new URL('./version-guard.lua', import.meta.url), 'utf8');
const RELEASE_SCRIPT = readFileSync(new URL('./release-lease.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** numKeys, the keys' guard hashes, then version, ttlSeconds, leaseMs, attempt and one quantity per key. */
    inventoryGuardBatch(numKeys: number, ...keysThenArgs: string[]): Result<number[], Context>;
    /** numKeys, the keys' guard hashes, then version and attempt. */
    inventoryGuardReleaseBatch(numKeys: number, ...keysThenArgs: string[]): Result<number, Context>;
  }
}

export type GuardVerdict =
  | { allowed: true }
  | { allowed: false; newerVersion: number }
  /** An older computation, or another attempt of this one, holds the key's write lease: ask again once it let go. */
  | { allowed: false; busyWith: number }
  /** A newer attempt of this computation (a Temporal retry) has asked: this attempt was abandoned, never send. */
  | { allowed: false; fencedBy: number };

/** Who asks: a computation's version and which attempt of it (Temporal's attempt number; 1 outside activities). */
export interface Writer {
  version: bigint | number;
  attempt: number;
}

/** Guard hashes expire (so keys never pile up: docs/design.md, the guarded write) long after any computation could still be in flight. */
export const GUARD_TTL_SECONDS = 6 * 3600;
/**
 * A live writer renews its leases every GUARD_LEASE_MS / 10 while it works; a crashed or stalled one's lease
 * lapses after this, and only then may its retry or a newer computation write the key.
 */
export const GUARD_LEASE_MS = 20_000;

export function guardKey(k: InventoryKey): string {
  return `guard:{${k.shopId}}:${k.sku}:${k.locationId}`;
}

/** Registers the Lua scripts once per connection (EVALSHA with a fallback to EVAL, handled by ioredis). */
export function registerVersionGuard(redis: Redis): void {
  if (typeof (redis as Partial<Redis>).inventoryGuardBatch === 'function') return;
  // No fixed number of keys: each call passes how many it judges (one per key of the batch).
  redis.defineCommand('inventoryGuardBatch', { lua: GUARD_SCRIPT });
  redis.defineCommand('inventoryGuardReleaseBatch', { lua: RELEASE_SCRIPT });
}

function verdictOf(ok: number, stored: number): GuardVerdict {
  switch (ok) {
    case 1:
      return { allowed: true };
    case 2:
      return { allowed: false, busyWith: stored };
    case 3:
      return { allowed: false, fencedBy: stored };
    default:
      return { allowed: false, newerVersion: stored };
  }
}

const asWriter = (w: Writer | bigint | number): Writer => (typeof w === 'object' ? w : { version: w, attempt: 1 });

/** `leaseMs` > 0 also takes (or renews) the key's write lease (refresh does; release it with releaseLeases). */
export async function checkVersion(redis: Redis, k: InventoryKey, writer: Writer | bigint | number, quantity: number, leaseMs = 0): Promise<GuardVerdict> {
  return (await checkVersions(redis, [{ key: k, quantity }], writer, leaseMs))[0]!;
}

/**
 * `checkVersion` for many keys of one computation in one script call (one round trip, one script run);
 * verdicts in the keys' order. The keys must belong to one shop (they share its hash slot).
 */
export async function checkVersions(redis: Redis, items: { key: InventoryKey; quantity: number }[], writer: Writer | bigint | number, leaseMs = 0): Promise<GuardVerdict[]> {
  if (items.length === 0) return [];
  registerVersionGuard(redis);
  const { version, attempt } = asWriter(writer);
  const reply = await redis.inventoryGuardBatch(
    items.length,
    ...items.map((i) => guardKey(i.key)),
    String(version),
    String(GUARD_TTL_SECONDS),
    String(leaseMs),
    String(attempt),
    ...items.map((i) => String(i.quantity)),
  );
  return items.map((_, i) => verdictOf(reply[2 * i]!, reply[2 * i + 1]!));
}

/** Releases the leases this attempt holds, once its Shopify call has returned (applied, stale, failed or dropped). */
export async function releaseLeases(redis: Redis, keys: InventoryKey[], writer: Writer | bigint | number): Promise<void> {
  if (keys.length === 0) return;
  registerVersionGuard(redis);
  const { version, attempt } = asWriter(writer);
  await redis.inventoryGuardReleaseBatch(keys.length, ...keys.map(guardKey), String(version), String(attempt));
}
