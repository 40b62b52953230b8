import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { type AtsComponents, computeAts } from '../domain/ats.js';
import { Errors, InventorySyncError } from '../domain/errors.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { InventoryKey } from '../domain/keys.js';
import { GUARD_LEASE_MS, GUARD_TTL_SECONDS, checkVersion, checkVersions, guardKey, releaseLeases, type GuardVerdict, type Writer } from '../guard/version-guard.js';
import { writesDropped } from '../observability/fault-metrics.js';
import { createLogger } from '../observability/logger.js';
import type { CallBounds, ClientLogger, EntryResult, LevelPair, LevelQuantities, SetAvailableEntry, SetAvailableOptions } from '../shopify/client/types.js';
import { levelKey } from '../shopify/client/types.js';
import { isAbandoned, openAttemptScope, type AttemptScope } from './attempt-scope.js';
import type { SkuLocation, SourceAdapter } from '../sources/adapter.js';
import { skuLocationKey } from '../sources/adapter.js';
import { readComponents } from './ats-components.js';
import { COMMITTED_READING_TTL_MS, heldForShopifyOrders, unclaimedUnits } from './shopify-unclaimed.js';
import { writeAudit, type AuditRow } from './audit.js';
import type { RacePointContext, RefreshRacePoints } from './race-points.js';
import { WARMUP_MIN_UNKNOWN, warmShopifyQuantities } from './shopify-warmup.js';
import { activityExecutionId, nextVersion, recallVersion, rememberVersion } from './refresh-version.js';

/** What refresh needs from Shopify; the budget-aware client implements it. */
export interface ShopifyInventoryPort {
  setAvailable(entries: SetAvailableEntry[], opts: SetAvailableOptions): Promise<EntryResult[]>;
  readLevels(pairs: LevelPair[], names?: string[], bounds?: CallBounds): Promise<Map<string, LevelQuantities>>;
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
  /** Where dropped and abandoned writes are logged (default: a pino logger). */
  logger?: ClientLogger;
  /** Which attempt this is and its abort signal; by default from the Temporal activity context (attempt-scope.ts). */
  openAttempt?: () => AttemptScope;
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
  const logger = deps.logger ?? createLogger(undefined, 'refresh');

  /**
   * Shopify's quantity as we last saw it, from the guard hash; unknown keys are read from Shopify in bulk.
   * Only ever used as the compare value of a compare-and-swap, and always observed before the sources are read:
   * a wrong one costs a stale round, never a wrong write.
   */
  async function cachedShopifyQuantities(shopId: string, keys: SkuLocation[]): Promise<{ known: Map<string, number | null>; unknown: SkuLocation[]; committed: Map<string, number> }> {
    const pipeline = redis.pipeline();
    for (const k of keys) pipeline.hmget(guardKey({ shopId, ...k }), 's', 'c', 'ct');
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

  async function knownShopifyQuantities(shopId: string, keys: SkuLocation[], mappings: Map<string, Mapping>, scope: AttemptScope): Promise<{ known: Map<string, number | null>; committed: Map<string, number> }> {
    let { known, unknown, committed } = await cachedShopifyQuantities(shopId, keys);
    const port = deps.shopify(shopId);
    if (unknown.length >= WARMUP_MIN_UNKNOWN && port.runBulkQuery) {
      const bulk = port.runBulkQuery.bind(port);
      // A failed export only costs the reads below.
      const learned = await warmShopifyQuantities(deps, shopId, { runBulkQuery: bulk }).catch(() => 0);
      if (learned > 0) ({ known, unknown, committed } = await cachedShopifyQuantities(shopId, keys));
    }
    if (unknown.length > 0) {
      const levels = await deps.shopify(shopId).readLevels(
        unknown.map((k) => {
          const m = mappings.get(skuLocationKey(k))!;
          return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId };
        }),
        // `committed` comes with `available` at no extra cost (the quantities list costs one object).
        ['available', 'committed'],
        boundsOf(scope),
      );
      const read: [SkuLocation, number, number | null][] = [];
      for (const k of unknown) {
        const m = mappings.get(skuLocationKey(k))!;
        const level = levels.get(`${m.inventoryItemId}|${m.shopifyLocationId}`);
        known.set(skuLocationKey(k), level?.available ?? null);
        if (level?.committed !== undefined) committed.set(skuLocationKey(k), level.committed);
        if (level?.available !== undefined) read.push([k, level.available, level.committed ?? null]);
      }
      await rememberShopify(shopId, read);
    }
    return { known, committed };
  }

  /** Remembers Shopify's `available` per key and, when the same read gave it, its `committed` (see shopify-unclaimed.ts). */
  async function rememberShopify(shopId: string, values: [SkuLocation, number, (number | null)?][]): Promise<void> {
    if (values.length === 0) return;
    const pipeline = redis.pipeline();
    for (const [k, qty, committed] of values) {
      // Every write to a guard hash renews its TTL, so no hash outlives its keys (seed pitfall: key explosion).
      pipeline.hset(guardKey({ shopId, ...k }), 's', String(qty));
      if (committed !== undefined && committed !== null) pipeline.hset(guardKey({ shopId, ...k }), 'c', String(committed), 'ct', String(Date.now()));
      pipeline.expire(guardKey({ shopId, ...k }), GUARD_TTL_SECONDS);
    }
    await pipeline.exec();
  }

  /** Drops the committed readings of keys whose Shopify orders are all claimed: later rounds need no read for them. */
  async function forgetCommitted(shopId: string, keys: SkuLocation[]): Promise<void> {
    if (keys.length === 0) return;
    const pipeline = redis.pipeline();
    for (const k of keys) pipeline.hdel(guardKey({ shopId, ...k }), 'c', 'ct');
    await pipeline.exec();
  }

  /** The first round's version: the caller's, else this activity execution's earlier one (a retry), else a new one. */
  async function firstVersion(input: RefreshInput, executionId: string | undefined): Promise<bigint> {
    if (input.version !== undefined) return BigInt(input.version);
    const recalled = executionId === undefined ? undefined : await recallVersion(redis, executionId);
    return recalled ?? nextVersion(db);
  }

  /**
   * Asks the guard for the keys, waiting while an older computation (or an earlier attempt of this one) holds a
   * key's write lease: it is between its own guard check and its Shopify write. Waits only ever point from newer
   * to older writers, so they cannot form a cycle; a crashed holder's lease lapses. A newer attempt of this
   * computation having asked means this attempt was abandoned: it throws ISYNC_WRITE_ABANDONED.
   */
  async function guardWithLease(items: { key: InventoryKey; ats: number }[], writer: Writer, scope: AttemptScope, point: RacePointContext): Promise<({ allowed: true } | { allowed: false; newerVersion: number })[]> {
    const verdicts = await checkVersions(redis, items.map((i) => ({ key: i.key, quantity: i.ats })), writer, leaseMs);
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
        scope.heartbeat();
        await delay(LEASE_POLL_MS, undefined, { signal: scope.signal }).catch(() => scope.signal.throwIfAborted());
        verdict = await checkVersion(redis, key, writer, ats, leaseMs);
      }
      if (!verdict.allowed && 'fencedBy' in verdict) {
        throw Errors.WriteAbandoned(`attempt ${writer.attempt} of version ${writer.version} was superseded by attempt ${verdict.fencedBy}`, { version: String(writer.version), attempt: writer.attempt });
      }
      settled.push(verdict as { allowed: true } | { allowed: false; newerVersion: number });
    }
    return settled;
  }

  /**
   * Why a writer may no longer send a key, from the guard's answer to a renewal; undefined while it still may.
   * Renewing is the check: it succeeds only for the attempt that holds the lease of the newest version.
   */
  function lostBecause(verdict: GuardVerdict, writer: Writer): { reason: 'superseded' | 'abandoned'; detail: string } | undefined {
    if (verdict.allowed) return undefined;
    if ('newerVersion' in verdict) return { reason: 'superseded', detail: `version ${verdict.newerVersion} is newer` };
    if ('fencedBy' in verdict) return { reason: 'abandoned', detail: `attempt ${verdict.fencedBy} of version ${writer.version} took over` };
    return { reason: 'abandoned', detail: `the write lease lapsed and is held by version ${verdict.busyWith}` };
  }

  type Planned = { key: SkuLocation; ats: number; components: AtsComponents };

  /**
   * One compare-and-swap write of a round; returns the keys whose compare was stale. Immediately before every
   * send (retries included) the fence renews this attempt's leases: an entry whose key a newer version took is
   * dropped, and a lost lease or a newer attempt abandons the whole write.
   */
  async function writeRound(shopId: string, trigger: string, mappings: Map<string, Mapping>, known: Map<string, number | null>, toWrite: Planned[], writer: Writer & { version: bigint }, scope: AttemptScope, audit: AuditRow[], summary: RefreshSummary): Promise<SkuLocation[]> {
    const { version } = writer;
    const idempotencyKey = `v${version}`;
    let entries: SetAvailableEntry[] = [];
    let results: EntryResult[];
    const byLevel = new Map<string, Planned>();
    try {
      entries = toWrite.map((w) => {
        const m = mappings.get(skuLocationKey(w.key))!;
        byLevel.set(levelKey(m.inventoryItemId, m.shopifyLocationId), w);
        return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId, quantity: w.ats, changeFromQuantity: known.get(skuLocationKey(w.key)) ?? null };
      });
      results = await deps.shopify(shopId).setAvailable(entries, {
        reason: 'correction',
        referenceDocumentUri: `gid://inventory-sync/Refresh/${version}`,
        keySalt: idempotencyKey,
        ...boundsOf(scope, { shopId, version: String(version), attempt: writer.attempt, keys: toWrite.length }),
        fence: async (sending) => {
          // An attempt Temporal gave up on (or whose time ran out) sends nothing, whatever the guard says.
          scope.signal.throwIfAborted();
          scope.heartbeat();
          const planned = sending.map((e) => byLevel.get(levelKey(e.inventoryItemId, e.locationId))!);
          await race.beforeSend?.({ shopId, keys: planned.map((p) => p.key), version, round: 0, attempt: writer.attempt });
          scope.signal.throwIfAborted();
          const verdicts = await checkVersions(redis, planned.map((p) => ({ key: { shopId, ...p.key }, quantity: p.ats })), writer, leaseMs);
          const drops = new Map<string, string>();
          for (const [i, verdict] of verdicts.entries()) {
            const lost = lostBecause(verdict, writer);
            if (lost?.reason === 'abandoned') {
              scope.abandon(`dropped before sending: ${lost.detail}`, { version: String(version), attempt: writer.attempt });
              throw scope.signal.reason as Error;
            }
            if (lost) drops.set(levelKey(sending[i]!.inventoryItemId, sending[i]!.locationId), lost.detail);
          }
          return drops;
        },
      });
    } catch (err) {
      // Abandoned: this attempt sent nothing after it lost the right to (its retry or a newer version writes).
      // Otherwise the guard already holds this version; the retry carries the same one and the guard lets it through.
      const outcome = isAbandoned(err) ? 'abandoned' : 'error';
      if (outcome === 'abandoned') noteDropped(shopId, writer, toWrite.map((w) => w.key), 'abandoned', (err as Error).message);
      for (const [i, w] of toWrite.entries()) {
        audit.push({ shopId, ...w.key, trigger, version, components: w.components, ats: w.ats, previousShopify: entries[i]?.changeFromQuantity ?? null, idempotencyKey, outcome, errorCode: errorCodeOf(err), detail: (err as Error).message });
      }
      await writeAudit(db, audit);
      throw err;
    }

    const seen: [SkuLocation, number, (number | null)?][] = [];
    const stale: SkuLocation[] = [];
    const dropped: SkuLocation[] = [];
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
        if (r.actual !== null) seen.push([w.key, r.actual, r.committed ?? null]);
        row.errorCode = Errors.ShopifyStaleCompare.code;
        row.detail = `Shopify held ${r.actual ?? 'unknown'}, not ${previous}`;
        stale.push(w.key);
      } else if (r.status === 'dropped') {
        // A newer computation took the key while this one waited to send: it writes the newer value.
        row.outcome = 'superseded';
        row.errorCode = Errors.StaleVersion.code;
        row.detail = `dropped before sending: ${r.reason}`;
        dropped.push(w.key);
        summary.skipped++;
      } else {
        row.errorCode = r.code;
        row.detail = r.message;
        summary.failed++;
      }
      audit.push(row);
    });
    if (dropped.length > 0) noteDropped(shopId, writer, dropped, 'superseded', 'a newer version took the keys while this write waited');
    await Promise.all([rememberShopify(shopId, seen), writeAudit(db, audit)]);
    return stale;
  }

  function noteDropped(shopId: string, writer: Writer, keys: SkuLocation[], reason: 'abandoned' | 'superseded', detail: string): void {
    writesDropped.inc({ shop: shopId, reason }, keys.length);
    logger.warn(
      { shopId, version: String(writer.version), attempt: writer.attempt, reason, keys: keys.slice(0, 20).map(skuLocationKey), keyCount: keys.length, detail },
      'write dropped before reaching Shopify',
    );
  }

  /**
   * Computes ATS for a batch of keys of one shop and makes Shopify's `available` equal to it, through the
   * version guard and a compare-and-swap write. One audit row per key and write, stored as each round ends so
   * the audit log's order is the order in which writes reached Shopify.
   */
  async function refreshKeys(input: RefreshInput): Promise<RefreshSummary> {
    const executionId = activityExecutionId();
    const scope = (deps.openAttempt ?? openAttemptScope)();
    try {
      return await refreshIn(input, executionId, scope);
    } finally {
      scope.close();
    }
  }

  async function refreshIn(input: RefreshInput, executionId: string | undefined, scope: AttemptScope): Promise<RefreshSummary> {
    const { shopId, trigger } = input;
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
      const writer = { version, attempt: scope.attempt };
      summary.version = version.toString();
      scope.heartbeat();
      const point: RacePointContext = { shopId, keys: pending, version, round };
      await race.afterVersionTaken?.(point);

      const audit: AuditRow[] = [];
      // Shopify's quantities are known before the sources are read: an order placed after our read then always
      // fails the compare. Read after, the compare would already include that order while our ATS does not.
      const { known, committed } = await knownShopifyQuantities(shopId, pending, mappings, scope);
      let components: Awaited<ReturnType<typeof readComponents>>;
      let held: Map<string, number>;
      try {
        const withCommitted = pending.filter((k) => committed.has(skuLocationKey(k)));
        [components, held] = await Promise.all([readComponents(deps, shopId, pending), heldForShopifyOrders(db, shopId, withCommitted)]);
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
          const reading = committed.get(skuLocationKey(key));
          const shopifyUnclaimed = reading === undefined ? 0 : unclaimedUnits(reading, held.get(skuLocationKey(key)) ?? 0);
          const withUnclaimed = shopifyUnclaimed > 0 ? { ...c.components, shopifyUnclaimed } : c.components;
          planned.push({ key, ats: computeAts(withUnclaimed), components: withUnclaimed });
        }
        await forgetCommitted(shopId, planned.filter((p) => committed.has(skuLocationKey(p.key)) && !p.components.shopifyUnclaimed).map((p) => p.key));
        const verdicts = await guardWithLease(planned.map((p) => ({ key: { shopId, ...p.key }, ats: p.ats })), writer, scope, point);
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
        // A write slowed by throttling keeps its leases while it lives: renewed often, so a crashed or stalled
        // writer's lapse soon. A renewal that fails or is refused abandons the write at once (the signal aborts
        // every wait and request in the client).
        let renewing: Promise<unknown> = Promise.resolve();
        const renewal = setInterval(() => {
          scope.heartbeat();
          renewing = checkVersions(redis, toWrite.map((w) => ({ key: { shopId, ...w.key }, quantity: w.ats })), writer, leaseMs).then(
            (verdicts) => {
              const lost = verdicts.map((v) => lostBecause(v, writer)).find((l) => l?.reason === 'abandoned');
              if (lost) scope.abandon(`lease renewal refused: ${lost.detail}`, { version: String(version), attempt: writer.attempt });
            },
            (err: unknown) => scope.abandon(`lease renewal failed: ${(err as Error).message}`, { version: String(version), attempt: writer.attempt }),
          );
        }, Math.max(50, Math.floor(leaseMs / 10)));
        try {
          pending = await writeRound(shopId, trigger, mappings, known, toWrite, writer, scope, audit, summary);
        } finally {
          clearInterval(renewal);
          // A renewal still on its way must not re-take a lease after the release below.
          await renewing;
        }
      } finally {
        // Every key this attempt asked for: releasing is a no-op where it holds no lease. A release that fails
        // (Redis gone) must not hide why the write ended: the lease lapses on its own.
        await releaseLeases(redis, planned.map((w) => ({ shopId, ...w.key })), writer).catch(() => undefined);
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

/** The attempt's bounds for a Shopify call made on its behalf. */
function boundsOf(scope: AttemptScope, context?: Record<string, unknown>): CallBounds {
  return { signal: scope.signal, ...(scope.deadlineMs === undefined ? {} : { deadlineMs: scope.deadlineMs }), ...(context ? { context } : {}) };
}

function dedupe(keys: SkuLocation[]): SkuLocation[] {
  const map = new Map(keys.map((k) => [skuLocationKey(k), k]));
  return [...map.values()];
}
