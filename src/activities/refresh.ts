import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { type AtsComponents, computeAts } from '../domain/ats.js';
import { Errors, InventorySyncError } from '../domain/errors.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { InventoryKey } from '../domain/keys.js';
import { GUARD_LEASE_MS, GUARD_TTL_SECONDS, checkVersion, checkVersions, guardKey, releaseLeases } from '../guard/version-guard.js';
import type { EntryResult, LevelPair, LevelQuantities, SetAvailableEntry, SetAvailableOptions } from '../shopify/client/types.js';
import type { SkuLocation, SourceAdapter } from '../sources/adapter.js';
import { skuLocationKey } from '../sources/adapter.js';
import { readComponents } from './ats-components.js';
import { writeAudit, type AuditRow } from './audit.js';
import type { RacePointContext, RefreshRacePoints } from './race-points.js';
import { WARMUP_MIN_UNKNOWN, warmShopifyQuantities } from './shopify-warmup.js';
import { activityExecutionId, nextVersion, recallVersion, rememberVersion } from './refresh-version.js';

/** What refresh needs from Shopify; the budget-aware client implements it. */
export interface ShopifyInventoryPort {
  setAvailable(entries: SetAvailableEntry[], opts: SetAvailableOptions): Promise<EntryResult[]>;
  readLevels(pairs: LevelPair[], names?: string[]): Promise<Map<string, LevelQuantities>>;
  /** When present, a cold start learns the shop's quantities from one bulk export (shopify-warmup.ts). */
  runBulkQuery?(query: string): AsyncIterable<Record<string, unknown>>;
}

export interface RefreshDeps {
  db: Db;
  redis: Redis;
  config: Config;
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyInventoryPort;
  /** Test-only hooks that force interleavings; see race-points.ts. */
  racePoints?: RefreshRacePoints;
  /** Write lease per key (default GUARD_LEASE_MS); renewed while a Shopify write is in flight. */
  leaseMs?: number;
}

export interface RefreshInput {
  shopId: string;
  keys: SkuLocation[];
  /** Why: 'source_event', 'claim', 'delta_sync', 'reconciliation', ... (recorded in the audit log). */
  trigger: string;
  /**
   * The version of the first computation, when the caller took it (it must be taken before any source is read).
   * Absent: refresh takes one, and a Temporal retry of the same activity reuses it.
   */
  version?: string;
}

export interface RefreshSummary {
  version: string;
  applied: number;
  unchanged: number;
  skipped: number;
  failed: number;
  /** ATS written per key (`sku|location`), for callers and tests. */
  written: Record<string, number>;
}

export interface RefreshSettings {
  coalesceWindowMs: number;
}

interface Mapping {
  inventoryItemId: string;
  shopifyLocationId: string;
}

/** A stale compare means Shopify moved under us (an order, a merchant edit): re-read, recompute, new key. */
const MAX_STALE_ROUNDS = 3;
/** How often a computation asks again for a key whose lease an older one holds. */
const LEASE_POLL_MS = 10;

async function loadMappings(db: Db, shopId: string, keys: SkuLocation[]): Promise<Map<string, Mapping>> {
  const { rows } = await db.query<{ sku: string; location_id: string; inventory_item_id: string; shopify_location_id: string }>(
    `SELECT m.sku, m.location_id, m.inventory_item_id, m.shopify_location_id
       FROM mappings m JOIN unnest($2::text[], $3::text[]) AS k(sku, location_id) USING (sku, location_id)
      WHERE m.shop_id = $1`,
    [shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
  return new Map(rows.map((r) => [skuLocationKey({ sku: r.sku, locationId: r.location_id }), { inventoryItemId: r.inventory_item_id, shopifyLocationId: r.shopify_location_id }]));
}

function errorCodeOf(err: unknown): string {
  return err instanceof InventorySyncError ? err.code : 'ISYNC_INTERNAL';
}

export function createRefreshActivities(deps: RefreshDeps) {
  const { db, redis } = deps;
  const race = deps.racePoints ?? {};
  const leaseMs = deps.leaseMs ?? GUARD_LEASE_MS;

  /**
   * Shopify's quantity as we last saw it, from the guard hash; unknown keys are read from Shopify in bulk.
   * Only ever used as the compare value of a compare-and-swap, and always observed before the sources are read:
   * a wrong one costs a stale round, never a wrong write.
   */
  async function cachedShopifyQuantities(shopId: string, keys: SkuLocation[]): Promise<{ known: Map<string, number | null>; unknown: SkuLocation[] }> {
    const pipeline = redis.pipeline();
    for (const k of keys) pipeline.hget(guardKey({ shopId, ...k }), 's');
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

  async function knownShopifyQuantities(shopId: string, keys: SkuLocation[], mappings: Map<string, Mapping>): Promise<Map<string, number | null>> {
    let { known, unknown } = await cachedShopifyQuantities(shopId, keys);
    const port = deps.shopify(shopId);
    if (unknown.length >= WARMUP_MIN_UNKNOWN && port.runBulkQuery) {
      const bulk = port.runBulkQuery.bind(port);
      // A failed export only costs the reads below.
      const learned = await warmShopifyQuantities(deps, shopId, { runBulkQuery: bulk }).catch(() => 0);
      if (learned > 0) ({ known, unknown } = await cachedShopifyQuantities(shopId, keys));
    }
    if (unknown.length > 0) {
      const levels = await deps.shopify(shopId).readLevels(
        unknown.map((k) => {
          const m = mappings.get(skuLocationKey(k))!;
          return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId };
        }),
        ['available'],
      );
      for (const k of unknown) {
        const m = mappings.get(skuLocationKey(k))!;
        known.set(skuLocationKey(k), levels.get(`${m.inventoryItemId}|${m.shopifyLocationId}`)?.available ?? null);
      }
    }
    return known;
  }

  async function rememberShopify(shopId: string, values: [SkuLocation, number][]): Promise<void> {
    if (values.length === 0) return;
    const pipeline = redis.pipeline();
    for (const [k, qty] of values) {
      // Every write to a guard hash renews its TTL, so no hash outlives its keys (seed pitfall: key explosion).
      pipeline.hset(guardKey({ shopId, ...k }), 's', String(qty));
      pipeline.expire(guardKey({ shopId, ...k }), GUARD_TTL_SECONDS);
    }
    await pipeline.exec();
  }

  /** The first round's version: the caller's, else this activity execution's earlier one (a retry), else a new one. */
  async function firstVersion(input: RefreshInput, executionId: string | undefined): Promise<bigint> {
    if (input.version !== undefined) return BigInt(input.version);
    const recalled = executionId === undefined ? undefined : await recallVersion(redis, executionId);
    return recalled ?? nextVersion(db);
  }

  /**
   * Asks the guard for the key, waiting while an older computation holds the key's write lease (it is between
   * its own guard check and its Shopify write). Waits only ever point from newer to older computations, so
   * they cannot form a cycle; a crashed holder's lease lapses.
   */
  async function guardWithLease(items: { key: InventoryKey; ats: number }[], version: bigint, point: RacePointContext): Promise<({ allowed: true } | { allowed: false; newerVersion: number })[]> {
    const verdicts = await checkVersions(redis, items.map((i) => ({ key: i.key, quantity: i.ats })), version, leaseMs);
    const settled: ({ allowed: true } | { allowed: false; newerVersion: number })[] = [];
    for (const [index, first] of verdicts.entries()) {
      let verdict = first;
      const { key, ats } = items[index]!;
      const deadline = Date.now() + leaseMs + 1000;
      let told = false;
      while (!verdict.allowed && 'busyWith' in verdict) {
        if (!told) {
          told = true;
          await race.whileKeyBusy?.({ ...point, keys: [{ sku: key.sku, locationId: key.locationId }], busyWith: BigInt(verdict.busyWith) });
        }
        if (Date.now() > deadline) throw Errors.DependencyUnavailable(`the write lease of ${key.sku} at ${key.locationId} was not released`, { busyWith: verdict.busyWith });
        await delay(LEASE_POLL_MS);
        verdict = await checkVersion(redis, key, version, ats, leaseMs);
      }
      settled.push(verdict);
    }
    return settled;
  }

  type Planned = { key: SkuLocation; ats: number; components: AtsComponents };

  /** One compare-and-swap write of a round; returns the keys whose compare was stale. */
  async function writeRound(shopId: string, trigger: string, mappings: Map<string, Mapping>, known: Map<string, number | null>, toWrite: Planned[], version: bigint, audit: AuditRow[], summary: RefreshSummary): Promise<SkuLocation[]> {
    const idempotencyKey = `v${version}`;
    let entries: SetAvailableEntry[] = [];
    let results: EntryResult[];
    try {
      entries = toWrite.map((w) => {
        const m = mappings.get(skuLocationKey(w.key))!;
        return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId, quantity: w.ats, changeFromQuantity: known.get(skuLocationKey(w.key)) ?? null };
      });
      results = await deps.shopify(shopId).setAvailable(entries, {
        reason: 'correction',
        referenceDocumentUri: `gid://inventory-sync/Refresh/${version}`,
        keySalt: idempotencyKey,
      });
    } catch (err) {
      // The guard already holds this version; the retry carries the same one and the guard lets it through.
      for (const [i, w] of toWrite.entries()) {
        audit.push({ shopId, ...w.key, trigger, version, components: w.components, ats: w.ats, previousShopify: entries[i]?.changeFromQuantity ?? null, idempotencyKey, outcome: 'error', errorCode: errorCodeOf(err), detail: (err as Error).message });
      }
      await writeAudit(db, audit);
      throw err;
    }

    const seen: [SkuLocation, number][] = [];
    const stale: SkuLocation[] = [];
    results.forEach((r, i) => {
      const w = toWrite[i]!;
      const previous = entries[i]!.changeFromQuantity;
      const row: AuditRow = { shopId, ...w.key, trigger, version, components: w.components, ats: w.ats, previousShopify: previous, idempotencyKey, outcome: r.status };
      if (r.status === 'applied') {
        row.delta = previous === null ? null : w.ats - previous;
        seen.push([w.key, r.quantityAfter]);
        if (previous === w.ats) summary.unchanged++;
        else summary.applied++;
        summary.written[skuLocationKey(w.key)] = w.ats;
      } else if (r.status === 'stale') {
        if (r.actual !== null) seen.push([w.key, r.actual]);
        row.errorCode = Errors.ShopifyStaleCompare.code;
        row.detail = `Shopify held ${r.actual ?? 'unknown'}, not ${previous}`;
        stale.push(w.key);
      } else {
        row.errorCode = r.code;
        row.detail = r.message;
        summary.failed++;
      }
      audit.push(row);
    });
    await Promise.all([rememberShopify(shopId, seen), writeAudit(db, audit)]);
    return stale;
  }

  /**
   * Computes ATS for a batch of keys of one shop and makes Shopify's `available` equal to it, through the
   * version guard and a compare-and-swap write. One audit row per key and write, stored as each round ends so
   * the audit log's order is the order in which writes reached Shopify.
   */
  async function refreshKeys(input: RefreshInput): Promise<RefreshSummary> {
    const { shopId, trigger } = input;
    const executionId = activityExecutionId();
    const summary: RefreshSummary = { version: '', applied: 0, unchanged: 0, skipped: 0, failed: 0, written: {} };
    const mappings = await loadMappings(db, shopId, input.keys);
    const unmapped: AuditRow[] = [];
    let pending: SkuLocation[] = [];
    for (const k of dedupe(input.keys)) {
      if (mappings.has(skuLocationKey(k))) pending.push(k);
      else {
        unmapped.push({ shopId, ...k, trigger, outcome: 'unmapped', errorCode: Errors.UnknownSku.code });
        summary.skipped++;
      }
    }
    await writeAudit(db, unmapped);

    for (let round = 0; round < MAX_STALE_ROUNDS && pending.length > 0; round++) {
      // The version is taken before any source is read, so a computation that read older data carries an older version.
      const version = round === 0 ? await firstVersion(input, executionId) : await nextVersion(db);
      if (executionId !== undefined) await rememberVersion(redis, executionId, version);
      summary.version = version.toString();
      const point: RacePointContext = { shopId, keys: pending, version, round };
      await race.afterVersionTaken?.(point);

      const audit: AuditRow[] = [];
      // Shopify's quantities are known before the sources are read: an order placed after our read then always
      // fails the compare. Read after, the compare would already include that order while our ATS does not.
      const known = await knownShopifyQuantities(shopId, pending, mappings);
      let components: Awaited<ReturnType<typeof readComponents>>;
      try {
        components = await readComponents(deps, shopId, pending);
      } catch (err) {
        // Never write an ATS that treated a missing component as zero: the whole batch fails and is retried.
        await writeAudit(db, pending.map((k) => ({ shopId, ...k, trigger, version, outcome: 'source_failed', errorCode: errorCodeOf(err), detail: (err as Error).message })));
        throw err;
      }
      await race.afterComponentsRead?.(point);

      const planned: Planned[] = [];
      const toWrite: Planned[] = [];
      try {
        for (const key of pending) {
          const c = components.get(skuLocationKey(key))!;
          if (c.status === 'no_on_hand') {
            audit.push({ shopId, ...key, trigger, version, outcome: 'no_on_hand', detail: 'no ERP holds an on-hand quantity for this key' });
            summary.skipped++;
            continue;
          }
          planned.push({ key, ats: computeAts(c.components), components: c.components });
        }
        const verdicts = await guardWithLease(planned.map((p) => ({ key: { shopId, ...p.key }, ats: p.ats })), version, point);
        planned.forEach((p, i) => {
          const verdict = verdicts[i]!;
          if (verdict.allowed) toWrite.push(p);
          else {
            audit.push({ shopId, ...p.key, trigger, version, components: p.components, ats: p.ats, outcome: 'superseded', errorCode: Errors.StaleVersion.code, detail: `version ${verdict.newerVersion} is newer` });
            summary.skipped++;
          }
        });
        if (toWrite.length === 0) {
          await writeAudit(db, audit);
          pending = [];
          break;
        }
        await race.beforeShopifyWrite?.({ ...point, keys: toWrite.map((w) => w.key) });
        // A write slowed by throttling must not outlive its leases: the guard re-grants them to the same version.
        let renewing: Promise<unknown> = Promise.resolve();
        const renewal = setInterval(() => {
          renewing = checkVersions(redis, toWrite.map((w) => ({ key: { shopId, ...w.key }, quantity: w.ats })), version, leaseMs).catch(() => undefined);
        }, Math.max(50, Math.floor(leaseMs / 3)));
        try {
          pending = await writeRound(shopId, trigger, mappings, known, toWrite, version, audit, summary);
        } finally {
          clearInterval(renewal);
          // A renewal still on its way must not re-take a lease after the release below.
          await renewing;
        }
      } finally {
        // Every key this version asked for: releasing is a no-op where it holds no lease.
        await releaseLeases(redis, planned.map((w) => ({ shopId, ...w.key })), version);
      }
    }
    if (pending.length > 0) {
      await writeAudit(db, pending.map((k) => ({ shopId, ...k, trigger, outcome: 'stale_exhausted', errorCode: Errors.ShopifyStaleCompare.code, detail: `still stale after ${MAX_STALE_ROUNDS} rounds; the next refresh or reconciliation retries` })));
      summary.failed += pending.length;
    }
    return summary;
  }

  /** What the shop's coalescing workflow needs from the configuration (workflows cannot read it themselves). */
  async function refreshSettings(): Promise<RefreshSettings> {
    return { coalesceWindowMs: deps.config.inventory_sync.aggregation.coalesce_window_ms };
  }

  return { refreshKeys, refreshSettings };
}

function dedupe(keys: SkuLocation[]): SkuLocation[] {
  const map = new Map(keys.map((k) => [skuLocationKey(k), k]));
  return [...map.values()];
}
