import fc from 'fast-check';
import type { SourceAdapter } from '../../src/sources/adapter.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RacePointContext, RefreshRacePoints } from '../../src/activities/race-points.js';
import type { ShopifyInventoryPort } from '../../src/activities/refresh.js';
import { nextVersion } from '../../src/db/ats-version.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { assertProperty } from '../support/property.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import type { AttemptScope } from '../../src/activities/attempt-scope.js';
import { Errors } from '../../src/domain/errors.js';
import { auditRows, createShopFixture, insertClaim, nextEventTime, type Role, type ShopFixture } from './fixture.js';
import type { SkuLocation } from '../../src/domain/sku-location.js';

/** Leases short enough that a stalled attempt's lease lapses quickly, long enough to be renewed under load. */
const LEASE_MS = 400;

/** An attempt as Temporal would run it: its number, and a cancel that Temporal sends when it gives up on it. */
function attempt(n: number): { open: () => AttemptScope; cancel: () => void } {
  const controller = new AbortController();
  const abandon = (reason: string) => {
    if (!controller.signal.aborted) controller.abort(Errors.WriteAbandoned(reason));
  };
  const scope: AttemptScope = { attempt: n, signal: controller.signal, deadlineMs: undefined, heartbeat: () => undefined, abandon, close: () => undefined };
  return { open: () => scope, cancel: () => abandon('Temporal cancelled the attempt (timed out)') };
}

/**
 * Model-based: random programs of source events, claims (placed Shopify orders with their claim, external
 * claims, releases) and refresh flushes. A flush may run other operations, including another flush, at one of
 * its race points, so computations interleave exactly where the program says. After every program:
 *   - Shopify's available equals ATS of the final source state for every key;
 *   - per key, the versions Shopify applied only ever increase (no older computation overwrote a newer one);
 *   - right after each flush, every key it covered equals ATS of the current state, unless something changed
 *     the key during the flush: such a change marks its key dirty for the next flush. (A Shopify order or
 *     cancellation during the flush is usually caught by the compare-and-swap, but not always: the compare value
 *     is the quantity we last saw, and an earlier order can make it stale — see docs/sources.md. The guarded-write
 *     tests check the compare-and-swap where the compare value is fresh.)
 */
const SKUS = ['A', 'B'];
const LOCATIONS = ['WH1', 'WH2'];
const KEYS: SkuLocation[] = SKUS.flatMap((sku) => LOCATIONS.map((locationId) => ({ sku, locationId })));
const id = (k: SkuLocation) => `${k.sku}|${k.locationId}`;
type RacePoint = 'afterVersionTaken' | 'afterComponentsRead' | 'beforeShopifyWrite';

type Op =
  | { kind: 'source'; role: Role; key: number; quantity: number }
  | { kind: 'shopifyOrder'; key: number; units: number }
  | { kind: 'externalClaim'; key: number; units: number }
  | { kind: 'release'; claim: number }
  | { kind: 'flush'; keys: number[]; at?: { point: RacePoint; ops: Op[] } }
  /** A reading older than the newest one for its key (a late delivery): ignored. */
  | { kind: 'lateSource'; role: Role; key: number; quantity: number }
  /** The newest reading for its key delivered again: nothing changes. */
  | { kind: 'duplicateSource'; role: Role; key: number }
  /** A flush during which a source never answers: it fails as ISYNC_SOURCE_TIMEOUT and writes nothing. */
  | { kind: 'sourceTimeout'; keys: number[] }
  /** A flush whose process dies at a race point; a later flush (the retry) covers its keys. */
  | { kind: 'crash'; keys: number[]; point: RacePoint }
  /** A flush whose Shopify call fails (after Shopify applied it, or before); its retry carries the same version. */
  | { kind: 'lostResponse'; keys: number[]; afterApply: boolean }
  /**
   * Attempt 1 of a flush stalls right before it sends (a frozen process, a long Retry-After) past its timeout;
   * `ops` happen meanwhile; Temporal's cancel reaches it or not (`cancelled`); its retry (attempt 2, same version)
   * runs to the end, then maybe a newer flush; only then does attempt 1 resume.
   */
  | { kind: 'stalledAttempt'; keys: number[]; ops: Op[]; cancelled: boolean; newerFlush: boolean };

const keyIndex = fc.nat({ max: KEYS.length - 1 });
const role = fc.constantFrom<Role>('erp', 'erp', 'wms', 'pos');
const simpleOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('source' as const), role, key: keyIndex, quantity: fc.nat({ max: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lateSource' as const), role, key: keyIndex, quantity: fc.nat({ max: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicateSource' as const), role, key: keyIndex }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shopifyOrder' as const), key: keyIndex, units: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('externalClaim' as const), key: keyIndex, units: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), claim: fc.nat({ max: 7 }) }) },
);
const flushKeys = fc.uniqueArray(keyIndex, { minLength: 1, maxLength: KEYS.length });
const plainFlush: fc.Arbitrary<Op> = fc.record({ kind: fc.constant('flush' as const), keys: flushKeys });
const racedFlush: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant('flush' as const),
  keys: flushKeys,
  at: fc.record({
    point: fc.constantFrom<RacePoint>('afterVersionTaken', 'afterComponentsRead', 'beforeShopifyWrite'),
    ops: fc.array(fc.oneof({ weight: 3, arbitrary: simpleOp }, { weight: 1, arbitrary: plainFlush }), { minLength: 1, maxLength: 3 }),
  }),
});
const lostResponse: fc.Arbitrary<Op> = fc.record({ kind: fc.constant('lostResponse' as const), keys: flushKeys, afterApply: fc.boolean() });
const failedFlush: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('sourceTimeout' as const), keys: flushKeys }),
  fc.record({ kind: fc.constant('crash' as const), keys: flushKeys, point: fc.constantFrom<RacePoint>('afterVersionTaken', 'afterComponentsRead', 'beforeShopifyWrite') }),
);
const stalledAttempt: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant('stalledAttempt' as const),
  keys: flushKeys,
  ops: fc.array(simpleOp, { maxLength: 3 }),
  cancelled: fc.boolean(),
  newerFlush: fc.boolean(),
});
const program = fc.array(
  fc.oneof({ weight: 5, arbitrary: simpleOp }, { weight: 2, arbitrary: plainFlush }, { weight: 2, arbitrary: racedFlush }, { weight: 1, arbitrary: lostResponse }, { weight: 1, arbitrary: stalledAttempt }, { weight: 1, arbitrary: failedFlush }),
  { minLength: 4, maxLength: 18 },
);

interface Claim {
  orderId: string;
  key: number;
  units: number;
  shopifyOrderId?: string;
  open: boolean;
}

describe('model-based: random interleavings of events, claims and flushes', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  async function run(ops: Op[]): Promise<void> {
    const shop: ShopFixture = await createShopFixture(svc, emu, { skus: SKUS, locations: LOCATIONS, prefix: 'mb', config: { inventory_sync: { safety_buffers: { strategy: 'dynamic', default_percentage: 10 } } }, initialAvailable: () => 5, retry: { maxAttempts: 1 } });
    const truth = KEYS.map(() => ({ erp: 40, wms: 0, pos: 0 }));
    const claims: Claim[] = [];
    /** The newest reading sent per source and key, for re-deliveries and late ones. */
    const lastSent = new Map<string, { quantity: number; at: string }>();
    for (const [i, k] of KEYS.entries()) {
      const at = nextEventTime();
      lastSent.set(`erp|${i}`, { quantity: 40, at });
      await shop.setSource('erp', k.sku, k.locationId, 40, at);
    }

    // What Shopify applied, in order, per key: the version is the write's key salt (`v<version>`).
    const appliedVersions = new Map<string, bigint[]>();
    const recording: ShopifyInventoryPort = {
      readLevels: (pairs, names) => shop.shopify.readLevels(pairs, names),
      async setAvailable(entries, opts) {
        const results = await shop.shopify.setAvailable(entries, opts);
        results.forEach((r, i) => {
          if (r.status !== 'applied') return;
          const k = [...shop.catalog.ids].find(([, v]) => v.inventoryItemId === entries[i]!.inventoryItemId && v.locationId === entries[i]!.locationId)![0];
          const list = appliedVersions.get(k) ?? [];
          list.push(BigInt(opts.keySalt!.slice(1)));
          appliedVersions.set(k, list);
        });
        return results;
      },
    };

    const pendingNested: Promise<unknown>[] = [];
    /** Keys changed while the current top-level flush runs: the next flush, not this one, must show them. */
    const touched = new Set<number>();
    const touch = (key: number) => void touched.add(key);
    /**
     * The oracle, written from the rule in the README, not from src/domain: ATS = max(0, on-hand - allocated -
     * pending - open claims - buffer), the buffer being this shop's dynamic 10% of on-hand, rounded up.
     */
    const expectedAts = (i: number) => {
      const t = truth[i]!;
      const openClaims = claims.filter((c) => c.open && c.key === i).reduce((a, c) => a + c.units, 0);
      const buffer = Math.floor((Math.max(0, t.erp) + 9) / 10);
      return Math.max(0, t.erp - t.wms - t.pos - openClaims - buffer);
    };
    const expectFlushed = (keys: number[], step: string) => {
      for (const i of keys) {
        if (touched.has(i)) continue;
        const k = KEYS[i]!;
        expect(shop.level(k.sku, k.locationId).available, `available of ${id(k)} right after ${step}`).toBe(expectedAts(i));
      }
    };
    const refreshWith = (racePoints: RefreshRacePoints, busy?: () => void, openAttempt?: () => AttemptScope) =>
      shop.refresh({ shopify: () => recording, leaseMs: LEASE_MS, racePoints: { ...racePoints, ...(busy ? { whileKeyBusy: async () => busy() } : {}) }, ...(openAttempt ? { openAttempt } : {}) });

    async function apply(op: Op, nested: boolean): Promise<void> {
      switch (op.kind) {
        case 'source': {
          const k = KEYS[op.key]!;
          truth[op.key]![op.role] = op.quantity;
          if (nested) touch(op.key);
          const at = nextEventTime();
          lastSent.set(`${op.role}|${op.key}`, { quantity: op.quantity, at });
          await shop.setSource(op.role, k.sku, k.locationId, op.quantity, at);
          return;
        }
        case 'lateSource': {
          // Dated before every reading of the run: where a newer reading exists it stands; where none does
          // (a WMS or POS that never reported this key), the late one is the newest and counts. Two readings with
          // the same time: the one delivered last counts.
          const k = KEYS[op.key]!;
          const at = '2026-11-29T00:00:00.000Z';
          const last = lastSent.get(`${op.role}|${op.key}`);
          if (last === undefined || last.at <= at) {
            truth[op.key]![op.role] = op.quantity;
            lastSent.set(`${op.role}|${op.key}`, { quantity: op.quantity, at });
            if (nested) touch(op.key);
          }
          await shop.setSource(op.role, k.sku, k.locationId, op.quantity, at);
          return;
        }
        case 'duplicateSource': {
          const k = KEYS[op.key]!;
          const last = lastSent.get(`${op.role}|${op.key}`);
          if (last) await shop.setSource(op.role, k.sku, k.locationId, last.quantity, last.at);
          return;
        }
        case 'sourceTimeout': {
          const keys = op.keys.map((i) => KEYS[i]!);
          const before = KEYS.map((k) => shop.level(k.sku, k.locationId).available);
          const silent: SourceAdapter = {
            name: `${shop.shopId}-silent`,
            role: 'pos',
            // Never answers; gives up only when refresh aborts it at parallel_fetch_timeout_ms.
            getComponents: (_shop, keys, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(new Map(keys.map((k) => [`${k.sku}|${k.locationId}`, 0]))))),
          };
          const aggregation = { ...shop.config.inventory_sync.aggregation, parallel_fetch_timeout_ms: 100 };
          const config = { ...shop.config, inventory_sync: { ...shop.config.inventory_sync, aggregation } };
          await expect(
            shop.refresh({ shopify: () => recording, leaseMs: LEASE_MS, config, sources: [...shop.sources(), silent] }).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-timeout' }),
          ).rejects.toMatchObject({ code: 'ISYNC_SOURCE_TIMEOUT' });
          expect(KEYS.map((k) => shop.level(k.sku, k.locationId).available), 'Shopify after a flush whose source timed out').toEqual(before);
          return;
        }
        case 'crash': {
          const keys = op.keys.map((i) => KEYS[i]!);
          const crash = async () => {
            throw new Error('the worker died here');
          };
          await expect(refreshWith({ [op.point]: crash }).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-crash' })).rejects.toThrow('the worker died here');
          // The retry: a new attempt covers the same keys.
          await refreshWith({}).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-retry' });
          expectFlushed(op.keys, `a flush that crashed at ${op.point}, and its retry`);
          return;
        }
        case 'shopifyOrder': {
          const k = KEYS[op.key]!;
          let orderId: string;
          try {
            orderId = emu.emulator.placeOrder(shop.domain, { lines: [{ sku: k.sku, quantity: op.units }], locationId: shop.catalog.locationIds.get(k.locationId)! }).id;
          } catch {
            return; // Shopify refuses an order it has no stock for: nothing happened
          }
          const claim: Claim = { orderId: svc.uid('o'), key: op.key, units: op.units, shopifyOrderId: orderId, open: true };
          claims.push(claim);
          // Shopify sees the order, but our compare value is the quantity we last saw, which an earlier order or
          // cancellation may have made stale; then the compare cannot tell this change apart (ABA) and the key
          // waits for the next flush, which the order's claim triggers. So: not checked right after this flush.
          if (nested) touch(op.key);
          await insertClaim(svc, shop.shopId, claim.orderId, k.sku, k.locationId, op.units);
          return;
        }
        case 'externalClaim': {
          const k = KEYS[op.key]!;
          const claim: Claim = { orderId: svc.uid('x'), key: op.key, units: op.units, open: true };
          claims.push(claim);
          if (nested) touch(op.key);
          await insertClaim(svc, shop.shopId, claim.orderId, k.sku, k.locationId, op.units);
          return;
        }
        case 'release': {
          const claim = claims.filter((c) => c.open)[op.claim];
          if (!claim) return;
          claim.open = false;
          if (nested) touch(claim.key);
          // A cancelled Shopify order gives its committed units back to available; an external claim just ends.
          if (claim.shopifyOrderId) emu.emulator.cancelOrder(shop.domain, claim.shopifyOrderId);
          await svc.db.query('UPDATE claim_lines SET claimed = 0 WHERE shop_id = $1 AND order_id = $2', [shop.shopId, claim.orderId]);
          return;
        }
        case 'lostResponse': {
          const keys = op.keys.map((i) => KEYS[i]!);
          const version = (await nextVersion(svc.db)).toString();
          emu.emulator.failNextRequests(shop.domain, 1, op.afterApply ? { afterApply: true } : { status: 503 });
          await expect(refreshWith({}).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-lost', version })).rejects.toMatchObject({ code: 'ISYNC_SHOPIFY_UNAVAILABLE' });
          // What Temporal does: the same activity input again, so the same version.
          await refreshWith({}).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-retry', version });
          expectFlushed(op.keys, `a flush that failed ${op.afterApply ? 'after' : 'before'} Shopify applied it, and its retry`);
          return;
        }
        case 'stalledAttempt': {
          const keys = op.keys.map((i) => KEYS[i]!);
          const version = (await nextVersion(svc.db)).toString();
          const first = attempt(1);
          let reached!: () => void;
          const stalled = new Promise<void>((resolve) => (reached = resolve));
          let wake!: () => void;
          const woken = new Promise<void>((resolve) => (wake = resolve));
          let sends = 0;
          const hook = async (ctx: RacePointContext & { attempt: number }) => {
            if (ctx.attempt !== 1 || (sends += 1) > 1) return;
            reached();
            await woken;
          };
          const firstRun = refreshWith({ beforeSend: hook }, undefined, first.open)
            .refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-stalled', version })
            .then(
              () => undefined,
              (err: unknown) => err,
            );
          // It may end without a send (every key superseded, or no ERP reading): then there is nothing to stall.
          await Promise.race([stalled, firstRun]);
          touched.clear();
          for (const inner of op.ops) await apply(inner, true);
          if (op.cancelled) first.cancel();
          // Temporal's retry: the same input, so the same version, as attempt 2. It waits for attempt 1's lease.
          await refreshWith({}, undefined, attempt(2).open).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-retry', version });
          if (op.newerFlush) await refreshWith({}).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-newer' });
          const before = KEYS.map((k) => shop.level(k.sku, k.locationId).available);
          wake();
          const ended = await firstRun;
          if (ended !== undefined) expect(ended, 'a resumed abandoned attempt fails only as abandoned').toMatchObject({ code: 'ISYNC_WRITE_ABANDONED' });
          // Whatever it held, the resumed attempt wrote nothing.
          expect(KEYS.map((k) => shop.level(k.sku, k.locationId).available), 'Shopify after the abandoned attempt resumed').toEqual(before);
          touched.clear();
          return;
        }
        case 'flush': {
          const keys = op.keys.map((i) => KEYS[i]!);
          if (!op.at || nested) {
            if (!nested) {
              await refreshWith({}).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model' });
              expectFlushed(op.keys, 'a flush');
              return;
            }
            // Inside another flush's race point: it may have to wait for the outer flush's write lease.
            let waiting!: () => void;
            const blocked = new Promise<void>((resolve) => (waiting = resolve));
            const done = refreshWith({}, () => waiting()).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model-nested' });
            pendingNested.push(done);
            await Promise.race([done, blocked]);
            return;
          }
          const { point, ops } = op.at;
          let fired = false;
          const hook = async (ctx: RacePointContext) => {
            if (fired || ctx.round > 0) return;
            fired = true;
            for (const inner of ops) await apply(inner, true);
          };
          touched.clear();
          await refreshWith({ [point]: hook }).refreshKeys({ shopId: shop.shopId, keys, trigger: 'model' });
          await Promise.all(pendingNested.splice(0));
          expectFlushed(op.keys, `a flush raced at ${point} by ${ops.map((o) => o.kind).join('+')}`);
          touched.clear();
          return;
        }
      }
    }

    for (const op of ops) await apply(op, false);
    await Promise.all(pendingNested.splice(0));
    // Every event above marked its key dirty; the last flush is the one the workflow would run for them.
    await refreshWith({}).refreshKeys({ shopId: shop.shopId, keys: KEYS, trigger: 'model-settle' });

    for (const [i, k] of KEYS.entries()) expect(shop.level(k.sku, k.locationId).available, `available of ${id(k)} at the end`).toBe(expectedAts(i));
    for (const [k, versions] of appliedVersions) {
      for (let i = 1; i < versions.length; i++) expect(versions[i]!, `versions applied to ${k}: ${versions.join(', ')}`).toBeGreaterThan(versions[i - 1]!);
    }
    // No write was ever applied twice: retries were replayed by their idempotency key.
    expect(Math.max(0, ...Object.values(emu.emulator.counters(shop.domain).mutationsAppliedByKey))).toBeLessThanOrEqual(1);
    const audit = await auditRows(svc, shop.shopId);
    for (const k of KEYS) {
      const versions = audit.filter((r) => r.outcome === 'applied' && r.sku === k.sku && r.location_id === k.locationId).map((r) => BigInt(r.version!));
      expect(versions).toEqual(appliedVersions.get(id(k)) ?? []);
    }
  }

  it('Shopify ends at ATS of the final source state for every key, and applied versions only increase', async () => {
    await assertProperty(
      'test/refresh/model-based.test.ts',
      fc.asyncProperty(program, async (ops) => {
        await run(ops);
      }),
      { numRuns: 60 },
    );
    // 60 programs against the real services: about 40 s alone, more beside the other files on 2 cores.
  }, 240_000);
});
