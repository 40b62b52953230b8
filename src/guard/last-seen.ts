import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { GUARD_TTL_SECONDS, guardKey } from './version-guard.js';

const READ_SCRIPT = readFileSync(new URL('./last-seen-read.lua', import.meta.url), 'utf8');
const WRITE_SCRIPT = readFileSync(new URL('./last-seen-write.lua', import.meta.url), 'utf8');
const DOUBT_SCRIPT = readFileSync(new URL('./last-seen-doubt.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** numKeys, then the keys' guard hashes: {s, c, ct, ch, m} per key. */
    inventoryLastSeenRead(numKeys: number, ...keys: string[]): Result<(string | null)[][], Context>;
    /** numKeys, the keys' guard hashes, ttl, onlyIfUnknown, now, then available, committed and held before ('' for none) per key. */
    inventoryLastSeenWrite(numKeys: number, ...keysThenArgs: string[]): Result<number, Context>;
    /** numKeys, the keys' guard hashes, then the moment Shopify moved them (ms): marks each `available` seen before it doubtful. */
    inventoryLastSeenDoubt(numKeys: number, ...keys: string[]): Result<number, Context>;
  }
}

/** Keys per script call: a bulk export remembers a whole shop, and one script must not hold Redis for long. */
const SCRIPT_KEYS = 5_000;

/** One script call per batch, not a pipeline of a command or three per key (fewer replies to parse and collect). */
function registerLastSeen(redis: Redis): void {
  if (typeof (redis as Partial<Redis>).inventoryLastSeenRead === 'function') return;
  redis.defineCommand('inventoryLastSeenRead', { lua: READ_SCRIPT });
  redis.defineCommand('inventoryLastSeenWrite', { lua: WRITE_SCRIPT });
  redis.defineCommand('inventoryLastSeenDoubt', { lua: DOUBT_SCRIPT });
}

/**
 * Shopify's `available` as we last saw it, kept in the key's guard hash (field `s`) beside the version and the
 * lease the Lua script keeps there. Only ever used as the compare value of a compare-and-swap, observed before
 * the sources are read: a wrong one costs a stale round, never a wrong write.
 */
export const LAST_SEEN_FIELD = 's';
/** Set (to 1) while `s` is doubtful: Shopify moved the key itself after it was seen (last-seen-doubt.lua). */
export const DOUBTFUL_FIELD = 'm';
/**
 * Shopify's `committed` from the same read as `s`, when it was read, and what our Shopify-order claims held at
 * the key just before it was read: kept only while Shopify has committed units to orders we have not claimed yet
 * (src/activities/shopify-unclaimed.ts).
 */
const COMMITTED_FIELD = 'c';
const COMMITTED_AT_FIELD = 'ct';
const HELD_BEFORE_FIELD = 'ch';
/** A committed reading is trusted this long; after that it is ignored (a shipment lowers committed silently). */
export const COMMITTED_READING_TTL_MS = 120_000;

/** A kept `committed` reading, and what our Shopify-order claims held just before it was taken (absent: unknown). */
export type CommittedReading = { committed: number; heldBefore?: number };

/**
 * The last-seen quantities of these keys (by `skuLocationKey`), the keys never seen, the keys seen but doubtful
 * (Shopify moved them since: read them again, but they do not make a shop cold), and the committed readings still
 * kept (by `skuLocationKey`).
 */
export async function readLastSeen(redis: Redis, shopId: string, keys: SkuLocation[]): Promise<{ known: Map<string, number | null>; unknown: SkuLocation[]; doubtful: SkuLocation[]; committed: Map<string, CommittedReading> }> {
  registerLastSeen(redis);
  const cached: (string | null)[][] = [];
  for (let i = 0; i < keys.length; i += SCRIPT_KEYS) {
    const chunk = keys.slice(i, i + SCRIPT_KEYS);
    cached.push(...(await redis.inventoryLastSeenRead(chunk.length, ...chunk.map((k) => guardKey({ shopId, ...k })))));
  }
  const known = new Map<string, number | null>();
  const committed = new Map<string, CommittedReading>();
  const unknown: SkuLocation[] = [];
  const doubtful: SkuLocation[] = [];
  keys.forEach((k, i) => {
    const [v, c, ct, ch, m] = cached[i] ?? [];
    if (v === null || v === undefined) unknown.push(k);
    else if (m !== null && m !== undefined) doubtful.push(k);
    else known.set(skuLocationKey(k), Number(v));
    if (c !== null && c !== undefined && Date.now() - Number(ct ?? 0) <= COMMITTED_READING_TTL_MS) committed.set(skuLocationKey(k), readingOf(c, ch));
  });
  return { known, unknown, doubtful, committed };
}

/**
 * Shopify moved these keys' `available` itself at `movedAt` (a checkout took units, a cancellation restocked them):
 * field `m` on every key whose remembered value may be older, set when we claim or release a Shopify order's units
 * and cleared by the next value seen. A doubtful key's compare value is read again rather than taken from `s`:
 * comparing on a value a checkout moved costs a failed write, a re-read and a whole round, and in a flash sale
 * checkouts keep coming during those rounds (bench/oversell). A value seen after the move already holds it and stays
 * trusted: reading it again costs a query (about two writes' points on a Standard shop) for nothing.
 *
 * Only a hint for speed either way: a stale compare value is still caught by the compare-and-swap itself, never
 * written over. So `movedAt` (Shopify's clock) need not agree with ours to the millisecond: values seen up to
 * DOUBT_MARGIN_MS after it are doubted too, which covers clock skew and a reading remembered after it was taken.
 */
export async function doubtLastSeen(redis: Redis, shopId: string, keys: SkuLocation[], movedAt: number): Promise<void> {
  if (keys.length === 0) return;
  registerLastSeen(redis);
  const before = String(Number.isFinite(movedAt) ? movedAt + DOUBT_MARGIN_MS : Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < keys.length; i += SCRIPT_KEYS) {
    const chunk = keys.slice(i, i + SCRIPT_KEYS);
    await redis.inventoryLastSeenDoubt(chunk.length, ...chunk.map((k) => guardKey({ shopId, ...k })), before);
  }
}

/** See doubtLastSeen: how long after Shopify's move a remembered value is still doubted. */
export const DOUBT_MARGIN_MS = 500;

/** Drops the committed readings of these keys (their Shopify orders are all claimed). */
export async function forgetCommitted(redis: Redis, shopId: string, keys: SkuLocation[]): Promise<void> {
  if (keys.length === 0) return;
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.hdel(guardKey({ shopId, ...k }), COMMITTED_FIELD, COMMITTED_AT_FIELD, HELD_BEFORE_FIELD);
  await pipeline.exec();
}

/** One key's reading to remember: Shopify's `available`, and optionally `committed` from the same read with what our claims held just before it. */
export type SeenLevel = [key: SkuLocation, available: number, committed?: number | null, heldBefore?: number];

/**
 * Remembers what Shopify holds now. `onlyIfUnknown` keeps a value already there (HSETNX: a quantity seen by a
 * write is fresher than one from a bulk export). Every write to a guard hash renews its TTL, so no hash outlives
 * its keys.
 */
export async function rememberLastSeen(redis: Redis, shopId: string, values: SeenLevel[], onlyIfUnknown = false): Promise<void> {
  if (values.length === 0) return;
  registerLastSeen(redis);
  for (let i = 0; i < values.length; i += SCRIPT_KEYS) {
    const chunk = values.slice(i, i + SCRIPT_KEYS);
    // `committed` read with this `available` (a stale compare's re-read, a level read): see shopify-unclaimed.ts.
    await redis.inventoryLastSeenWrite(
      chunk.length,
      ...chunk.map(([k]) => guardKey({ shopId, ...k })),
      String(GUARD_TTL_SECONDS),
      onlyIfUnknown ? '1' : '0',
      String(Date.now()),
      ...chunk.flatMap(([, qty, committed, heldBefore]) => [String(qty), committed === undefined || committed === null ? '' : String(committed), heldBefore === undefined ? '' : String(heldBefore)]),
    );
  }
}

/** The committed reading kept for one key and when it was read, or undefined when none is kept (for `explain`). */
export async function readCommitted(redis: Redis, shopId: string, key: SkuLocation): Promise<(CommittedReading & { at: number }) | undefined> {
  const [c, ct, ch] = await redis.hmget(guardKey({ shopId, ...key }), COMMITTED_FIELD, COMMITTED_AT_FIELD, HELD_BEFORE_FIELD);
  if (c === null || c === undefined || Date.now() - Number(ct ?? 0) > COMMITTED_READING_TTL_MS) return undefined;
  return { ...readingOf(c, ch), at: Number(ct) };
}

function readingOf(c: string, ch: string | null | undefined): CommittedReading {
  return ch === null || ch === undefined ? { committed: Number(c) } : { committed: Number(c), heldBefore: Number(ch) };
}
