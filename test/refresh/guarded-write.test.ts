import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import type { ShopifyInventoryPort } from '../../src/activities/refresh.js';
import { nextVersion } from '../../src/db/ats-version.js';
import { doubtLastSeen } from '../../src/guard/last-seen.js';
import { guardKey } from '../../src/guard/version-guard.js';
import { createSources } from '../../src/runtime/sources.js';
import type { ShopifyClient } from '../../src/shopify/client/index.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import type { SourceAdapter } from '../../src/sources/adapter.js';
import { refreshWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { auditRows, createShopFixture, insertClaim, sharedSourcesConfig, type ShopFixture } from './fixture.js';
import type { SkuLocation } from '../../src/domain/sku-location.js';

const SKU = 'TEE-RED-M';
const WH = 'WH1';
const key: SkuLocation = { sku: SKU, locationId: WH };

describe('the guarded write', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  /** The worker's Shopify clients, by shop: each test's shop gets a client without retries of its own. */
  const clients = new Map<string, ShopifyClient>();

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    const config = sharedSourcesConfig(sourcePrefix);
    await svc.startWorker(
      createActivities({
        db: svc.db,
        redis: svc.redis,
        config,
        sources: createSources(config, svc.db),
        shopify: (shopId) => clients.get(shopId)!,
        temporal: svc.temporal,
        taskQueue: svc.taskQueue,
      }),
    );
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  const sourcePrefix = `gw-${Date.now().toString(36)}`;

  /** A shop with Shopify at 0 and the sources at `erp`; one refresh has run so Shopify's quantity is known. */
  async function shopAt(erp: number, opts: { retry?: { maxAttempts: number } } = {}): Promise<ShopFixture> {
    const shop = await createShopFixture(svc, emu, { skus: [SKU], locations: [WH], sourcePrefix, ...(opts.retry ? { retry: opts.retry } : {}) });
    clients.set(shop.shopId, shop.shopify);
    await shop.setSource('erp', SKU, WH, erp);
    await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });
    expect(shop.level(SKU, WH).available).toBe(erp);
    return shop;
  }

  function appliedCounts(shop: ShopFixture): number[] {
    return Object.values(emu.emulator.counters(shop.domain).mutationsAppliedByKey);
  }

  describe("the seed's lost update: Shopify fails after the guard stored the version", () => {
    it('a response lost after Shopify applied: the retry of the same version passes the guard and is replayed, applied once', async () => {
      const shop = await shopAt(100, { retry: { maxAttempts: 1 } });
      await shop.setSource('erp', SKU, WH, 80);
      const version = (await nextVersion(svc.db)).toString();
      const refresh = shop.refresh();
      emu.emulator.failNextRequests(shop.domain, 1, { afterApply: true });

      await expect(refresh.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test', version })).rejects.toMatchObject({ code: 'ISYNC_SHOPIFY_UNAVAILABLE' });
      expect(await svc.redis.hget(guardKey({ shopId: shop.shopId, ...key }), 'v')).toBe(version);
      const replaysBefore = emu.emulator.counters(shop.domain).idempotentReplays;

      const retry = await refresh.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test', version });
      expect(retry.written).toEqual({ [`${SKU}|${WH}`]: 80 });
      expect(shop.level(SKU, WH)).toMatchObject({ available: 80, on_hand: 80 });
      expect(emu.emulator.counters(shop.domain).idempotentReplays).toBe(replaysBefore + 1);
      expect(appliedCounts(shop).every((n) => n === 1)).toBe(true);
      const rows = (await auditRows(svc, shop.shopId)).filter((r) => r.version === version);
      expect(rows.map((r) => [r.outcome, r.error_code])).toEqual([
        ['error', 'ISYNC_SHOPIFY_UNAVAILABLE'],
        ['applied', null],
      ]);
      expect(rows[0]!.idempotency_key).toBe(rows[1]!.idempotency_key);
    });

    it('a 5xx before Shopify applied anything: the retry of the same version applies the update once', async () => {
      const shop = await shopAt(100, { retry: { maxAttempts: 1 } });
      await shop.setSource('wms', SKU, WH, 30);
      const version = (await nextVersion(svc.db)).toString();
      const refresh = shop.refresh();
      emu.emulator.failNextRequests(shop.domain, 1, { status: 503 });

      await expect(refresh.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test', version })).rejects.toMatchObject({ code: 'ISYNC_SHOPIFY_UNAVAILABLE' });
      expect(shop.level(SKU, WH).available).toBe(100);
      await refresh.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test', version });
      expect(shop.level(SKU, WH).available).toBe(70);
      expect(appliedCounts(shop).every((n) => n === 1)).toBe(true);
    });

    it('through Temporal: the activity retry reuses its version and the update lands exactly once', async () => {
      const shop = await shopAt(50, { retry: { maxAttempts: 1 } });
      await shop.setSource('pos', SKU, WH, 5);
      const before = emu.emulator.counters(shop.domain);
      emu.emulator.failNextRequests(shop.domain, 1, { afterApply: true });
      const summary = await runRefreshWorkflow(shop);

      expect(summary.written).toEqual({ [`${SKU}|${WH}`]: 45 });
      expect(shop.level(SKU, WH).available).toBe(45);
      const after = emu.emulator.counters(shop.domain);
      expect(after.mutationsApplied).toBe(before.mutationsApplied + 1);
      expect(after.idempotentReplays).toBe(before.idempotentReplays + 1);
      const rows = (await auditRows(svc, shop.shopId)).filter((r) => r.version === summary.version);
      expect(rows.map((r) => r.outcome)).toEqual(['error', 'applied']);
    });
  });

  async function runRefreshWorkflow(shop: ShopFixture) {
    return svc.temporal.workflow.execute(refreshWorkflow, {
      taskQueue: svc.taskQueue,
      workflowId: svc.uid('refresh'),
      args: [{ shopId: shop.shopId, keys: [key], trigger: 'test' }],
    });
  }

  describe('a Shopify order placed between our read and our write', () => {
    it('the compare fails, we re-read and recompute with a newer version, and the order units stay committed', async () => {
      const shop = await shopAt(50);
      await shop.setSource('erp', SKU, WH, 60);
      const seen: bigint[] = [];
      const refresh = shop.refresh({
        racePoints: {
          async afterComponentsRead({ version, round }) {
            seen.push(version);
            if (round > 0) return;
            // The order arrives after we read the sources (ATS 60) and before our write; its webhook records a claim.
            emu.emulator.placeOrder(shop.domain, { lines: [{ sku: SKU, quantity: 2 }], locationId: shop.catalog.locationIds.get(WH)! });
            await insertClaim(svc, shop.shopId, svc.uid('order'), SKU, WH, 2);
          },
        },
      });
      const summary = await refresh.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });

      expect(shop.level(SKU, WH)).toEqual({ available: 58, committed: 2, on_hand: 60 });
      expect(summary.written).toEqual({ [`${SKU}|${WH}`]: 58 });
      expect(seen).toHaveLength(2);
      expect(seen[1]!).toBeGreaterThan(seen[0]!);
      const rows = (await auditRows(svc, shop.shopId)).slice(-2);
      expect(rows.map((r) => [r.outcome, r.version, r.ats, r.previous_shopify])).toEqual([
        ['stale', seen[0]!.toString(), 60, 50],
        ['applied', seen[1]!.toString(), 58, 48],
      ]);
      expect(rows[0]!.idempotency_key).not.toBe(rows[1]!.idempotency_key);
    });
  });

  describe('a key whose ATS Shopify already shows', () => {
    it('read from Shopify in this round: nothing is sent, the row says unchanged, and its version still fences off an older computation', async () => {
      const shop = await createShopFixture(svc, emu, { skus: [SKU], locations: [WH], sourcePrefix, initialAvailable: () => 12 });
      clients.set(shop.shopId, shop.shopify);
      await shop.setSource('erp', SKU, WH, 15);
      const writes = () => emu.emulator.counters(shop.domain).mutationsApplied;
      const before = writes();
      let newer = '';
      const older = shop.refresh({
        racePoints: {
          async afterComponentsRead() {
            // The older computation read 15 and stalls. The ERP goes back to 12, Shopify moves the key itself (a
            // checkout's claim doubts the value the older one read), and a newer computation reads Shopify again:
            // it holds 12 already, so the newer one sends nothing.
            await shop.setSource('erp', SKU, WH, 12);
            await doubtLastSeen(svc.redis, shop.shopId, [key], Date.now() + 1_000);
            newer = (await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'newer' })).version;
          },
        },
      });
      const summary = await older.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'older' });

      // The newer version passed the guard before it skipped the send: the older one's 15 never reaches Shopify.
      expect(shop.level(SKU, WH).available).toBe(12);
      expect(writes()).toBe(before);
      const rows = (await auditRows(svc, shop.shopId)).slice(-2);
      expect(rows.map((r) => [r.trigger, r.outcome, r.version, r.ats, r.previous_shopify])).toEqual([
        ['newer', 'unchanged', newer, 12, 12],
        ['older', 'superseded', summary.version, 15, null],
      ]);
      expect(await svc.redis.hget(guardKey({ shopId: shop.shopId, ...key }), 'v')).toBe(newer);

      // A value remembered from an earlier round is not trusted that far: the same ATS is written, with its compare,
      // which would find out a Shopify that moved without telling us.
      await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'remembered' });
      expect((await auditRows(svc, shop.shopId)).at(-1)).toMatchObject({ trigger: 'remembered', outcome: 'applied', ats: 12, previous_shopify: 12 });
      expect(writes()).toBe(before + 1);
    });
  });

  describe('an older computation never overwrites a newer one', () => {
    it('a computation overtaken before the guard is rejected as superseded', async () => {
      const shop = await shopAt(20);
      await shop.setSource('erp', SKU, WH, 25);
      let newer = '';
      const older = shop.refresh({
        racePoints: {
          async afterComponentsRead() {
            // A later event and its computation complete while the older one still holds what it read (25).
            await shop.setSource('erp', SKU, WH, 30);
            newer = (await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'newer' })).version;
          },
        },
      });
      const summary = await older.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'older' });

      expect(shop.level(SKU, WH).available).toBe(30);
      expect(summary.written).toEqual({});
      const rows = (await auditRows(svc, shop.shopId)).slice(-2);
      expect(rows.map((r) => [r.trigger, r.outcome, r.version, r.ats, r.error_code])).toEqual([
        ['newer', 'applied', newer, 30, null],
        ['older', 'superseded', summary.version, 25, 'ISYNC_STALE_VERSION'],
      ]);
      expect(await svc.redis.hget(guardKey({ shopId: shop.shopId, ...key }), 'v')).toBe(newer);
    });

    it('a newer computation waits for the write of an older one that already passed the guard, then writes last', async () => {
      // Shopify 20; the older computation writes 20 -> 25, the newer one reads 20 again. Both compare against 20:
      // without the write lease the older write could land after the newer one and compare-and-swap would not see it.
      const shop = await shopAt(20);
      await shop.setSource('erp', SKU, WH, 25);
      let newerRun: Promise<{ version: string }> | undefined;
      let newerVersion = '';
      let newerIsWaiting!: () => void;
      const newerWaiting = new Promise<void>((resolve) => (newerIsWaiting = resolve));
      const older = shop.refresh({
        racePoints: {
          async beforeShopifyWrite() {
            await shop.setSource('erp', SKU, WH, 20);
            newerRun = shop
              .refresh({ racePoints: { async whileKeyBusy({ version }) { newerVersion = version.toString(); newerIsWaiting(); } } })
              .refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'newer' });
            await newerWaiting;
          },
        },
      });
      const olderSummary = await older.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'older' });
      // The newer computation saw Shopify at 20 before the older write landed: its compare fails and it writes again.
      const newerSummary = await newerRun!;

      expect(shop.level(SKU, WH).available).toBe(20);
      const applied = (await auditRows(svc, shop.shopId)).filter((r) => r.outcome === 'applied').slice(-2);
      expect(applied.map((r) => [r.trigger, r.version, r.ats])).toEqual([
        ['older', olderSummary.version, 25],
        ['newer', newerSummary.version, 20],
      ]);
      expect(BigInt(newerVersion)).toBeGreaterThan(BigInt(olderSummary.version));
      expect(BigInt(newerSummary.version)).toBeGreaterThan(BigInt(newerVersion));
    });
    it('a write slowed past its lease keeps the lease: the newer computation still waits and writes last', async () => {
      const shop = await shopAt(20);
      await shop.setSource('erp', SKU, WH, 25);
      const leaseMs = 150;
      let newerRun: Promise<{ version: string }> | undefined;
      let newerIsWaiting!: () => void;
      const newerWaiting = new Promise<void>((resolve) => (newerIsWaiting = resolve));
      // The older write is on its way to Shopify for several lease lengths (or until the newer one is done).
      const slowShopify: ShopifyInventoryPort = {
        readLevels: (pairs, names) => shop.shopify.readLevels(pairs, names),
        async setAvailable(entries, opts) {
          await Promise.race([newerRun, new Promise((resolve) => setTimeout(resolve, leaseMs * 4))]);
          return shop.shopify.setAvailable(entries, opts);
        },
      };
      const older = shop.refresh({
        leaseMs,
        shopify: () => slowShopify,
        racePoints: {
          async beforeShopifyWrite() {
            await shop.setSource('erp', SKU, WH, 20);
            newerRun = shop.refresh({ leaseMs, racePoints: { whileKeyBusy: async () => newerIsWaiting() } }).refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'newer' });
            await newerWaiting;
          },
        },
      });
      await older.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'older' });
      await newerRun;

      expect(shop.level(SKU, WH).available).toBe(20);
      const applied = (await auditRows(svc, shop.shopId)).filter((r) => r.outcome === 'applied').slice(-2);
      expect(applied.map((r) => [r.trigger, r.ats])).toEqual([
        ['older', 25],
        ['newer', 20],
      ]);
    });
  });

  describe('a source that times out', () => {
    it('fails the computation with ISYNC_SOURCE_TIMEOUT, writes nothing, and the next refresh succeeds', async () => {
      const shop = await shopAt(40);
      await shop.setSource('erp', SKU, WH, 55);
      let hang = true;
      const slowWms: SourceAdapter = {
        name: `${shop.shopId}-slow-wms`,
        role: 'wms',
        async getComponents(_shop, keys, signal) {
          if (hang) await new Promise((resolve) => signal.addEventListener('abort', resolve));
          return new Map(keys.map((k) => [`${k.sku}|${k.locationId}`, 5]));
        },
      };
      const config = { ...shop.config, inventory_sync: { ...shop.config.inventory_sync, aggregation: { ...shop.config.inventory_sync.aggregation, parallel_fetch_timeout_ms: 150 } } };
      const deps = { config, sources: [...createSources(shop.config, svc.db), slowWms] };
      const mutationsBefore = emu.emulator.counters(shop.domain).mutationsApplied;

      await expect(shop.refresh(deps).refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' })).rejects.toMatchObject({ code: 'ISYNC_SOURCE_TIMEOUT' });
      expect(shop.level(SKU, WH).available).toBe(40);
      expect(emu.emulator.counters(shop.domain).mutationsApplied).toBe(mutationsBefore);
      const failed = (await auditRows(svc, shop.shopId)).at(-1)!;
      expect(failed).toMatchObject({ outcome: 'source_failed', error_code: 'ISYNC_SOURCE_TIMEOUT', ats: null });

      hang = false;
      const summary = await shop.refresh(deps).refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });
      expect(summary.written).toEqual({ [`${SKU}|${WH}`]: 50 });
      expect(shop.level(SKU, WH).available).toBe(50);
    });
  });

  describe('Shopify keeps moving under every round', () => {
    it('the third stale compare in a row ends with a stale_exhausted row; nothing is written, the key is handed back, and the next refresh repairs it', async () => {
      const shop = await shopAt(30);
      await shop.setSource('erp', SKU, WH, 35);
      const rounds: number[] = [];
      const handedBack: { keys: unknown[]; trigger: string }[] = [];
      const summary = await shop
        .refresh({
          // The worker's markDirty in production: the key goes back to the shop's refresh workflow.
          retryLater: async ({ keys, trigger }) => void handedBack.push({ keys, trigger }),
          racePoints: {
            // An order lands between every round's read and its write: each compare is stale.
            async afterComponentsRead({ round }) {
              rounds.push(round);
              emu.emulator.placeOrder(shop.domain, { lines: [{ sku: SKU, quantity: 1 }], locationId: shop.catalog.locationIds.get(WH)! });
              await insertClaim(svc, shop.shopId, svc.uid('order'), SKU, WH, 1);
            },
          },
        })
        .refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });

      expect(rounds).toEqual([0, 1, 2]);
      expect(summary).toMatchObject({ failed: 1, applied: 0, written: {} });
      const rows = (await auditRows(svc, shop.shopId)).slice(-4);
      expect(rows.map((r) => [r.outcome, r.error_code])).toEqual([
        ['stale', 'ISYNC_SHOPIFY_STALE_COMPARE'],
        ['stale', 'ISYNC_SHOPIFY_STALE_COMPARE'],
        ['stale', 'ISYNC_SHOPIFY_STALE_COMPARE'],
        ['stale_exhausted', 'ISYNC_SHOPIFY_STALE_COMPARE'],
      ]);
      expect(rows.at(-1)!.detail).toContain("handed back to the shop's refresh");
      expect(handedBack).toEqual([{ keys: [key], trigger: 'stale_retry' }]);
      // Shopify holds what its own orders left (30 - 3); our 35 - 3 claims = 32 was never written.
      expect(shop.level(SKU, WH).available).toBe(27);


      // The retry, itself stale three times, hands nothing back again: a level that never settles cannot loop.
      await shop
        .refresh({
          retryLater: async ({ keys, trigger }) => void handedBack.push({ keys, trigger }),
          racePoints: {
            async afterComponentsRead() {
              emu.emulator.placeOrder(shop.domain, { lines: [{ sku: SKU, quantity: 1 }], locationId: shop.catalog.locationIds.get(WH)! });
              await insertClaim(svc, shop.shopId, svc.uid('order'), SKU, WH, 1);
            },
          },
        })
        .refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'stale_retry' });
      expect(handedBack).toHaveLength(1);
      expect((await auditRows(svc, shop.shopId)).at(-1)!.detail).toContain('the next refresh or reconciliation retries');

      const repaired = await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });
      expect(repaired.written).toEqual({ [`${SKU}|${WH}`]: 29 });
      expect(shop.level(SKU, WH).available).toBe(29);
    });
  });
});

