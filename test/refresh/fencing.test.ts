import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import type { RacePointContext, RefreshRacePoints } from '../../src/activities/race-points.js';
import { writesDropped } from '../../src/observability/fault-metrics.js';
import { createShopifyClient, type ShopifyClient } from '../../src/shopify/client/index.js';
import type { ClientFault } from '../../src/shopify/client/types.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { createSources } from '../../src/runtime/sources.js';
import { refreshWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { auditRows, createShopFixture, sharedSourcesConfig, type ShopFixture } from './fixture.js';
import type { SkuLocation } from '../../src/domain/sku-location.js';

/**
 * Issue: a refresh attempt stalled inside the client (429 with a long Retry-After) outlived its StartToClose;
 * Temporal retried it, a newer flush wrote the same number, and the stalled attempt then woke and wrote an old
 * value whose compare still matched (ABA). These tests force that sequence on a real Temporal server and check
 * that the abandoned attempt never sends.
 */
const SKU = 'FENCE-1';
const WH = 'WH1';
const key: SkuLocation = { sku: SKU, locationId: WH };
/** Short leases so a stalled holder's lease lapses within the test. */
const LEASE_MS = 1_500;

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('fencing: a write from an abandoned attempt never reaches Shopify', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const clients = new Map<string, ShopifyClient>();
  /** Each test installs its own race points; the worker's activities call through to them. */
  let hooks: RefreshRacePoints = {};
  const faults: ClientFault[] = [];
  const sourcePrefix = `fence-${Date.now().toString(36)}`;

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
        leaseMs: LEASE_MS,
        racePoints: {
          beforeSend: async (ctx) => hooks.beforeSend?.(ctx),
          whileKeyBusy: async (ctx) => hooks.whileKeyBusy?.(ctx),
        },
      }),
    );
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  /** A shop whose Shopify `available` and ERP are both at `erp`, with a client that reports its faults. */
  async function shopAt(erp: number): Promise<ShopFixture> {
    const shop = await createShopFixture(svc, emu, { skus: [SKU], locations: [WH], sourcePrefix });
    clients.set(
      shop.shopId,
      createShopifyClient({ shopDomain: shop.domain, accessToken: shop.token, baseUrl: emu.url, retry: { baseDelayMs: 5, maxDelayMs: 20 }, onFault: (f) => faults.push(f) }),
    );
    await shop.setSource('erp', SKU, WH, erp);
    await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });
    expect(shop.level(SKU, WH).available).toBe(erp);
    return shop;
  }

  /** Versions of our writes that Shopify applied to the key, in the order it applied them. */
  function appliedVersions(shop: ShopFixture): bigint[] {
    const { inventoryItemId, locationId } = shop.catalog.ids.get(`${SKU}|${WH}`)!;
    const item = Number(inventoryItemId.split('/').pop());
    const location = Number(locationId.split('/').pop());
    return emu.emulator
      .adjustments(shop.domain)
      .filter((g) => g.referenceDocumentUri?.startsWith('gid://inventory-sync/Refresh/') && g.changes.some((c) => c.itemId === item && c.locationId === location))
      .map((g) => BigInt(g.referenceDocumentUri!.split('/').pop()!));
  }

  function refreshThroughTemporal(shop: ShopFixture, bounds?: Parameters<typeof refreshWorkflow>[1]) {
    return svc.temporal.workflow.execute(refreshWorkflow, {
      taskQueue: svc.taskQueue,
      workflowId: svc.uid('fence'),
      args: bounds === undefined ? [{ shopId: shop.shopId, keys: [key], trigger: 'test' }] : [{ shopId: shop.shopId, keys: [key], trigger: 'test' }, bounds],
    });
  }

  it('the stalled attempt wakes after its retry and a newer flush wrote the same number: it sends nothing, Shopify keeps the newest ATS', async () => {
    const shop = await shopAt(30);
    const droppedBefore = (await writesDropped.get()).values.filter((v) => v.labels.shop === shop.shopId).reduce((n, v) => n + v.value, 0);
    await shop.setSource('erp', SKU, WH, 50);
    // The first attempt's first send is answered 429 Retry-After 1; it waits, and then stalls right before sending
    // again (a frozen process) until the test lets it go.
    emu.emulator.failNextRequests(shop.domain, 1, { throttle: true, retryAfterSeconds: 1 });
    const stalled = deferred<RacePointContext & { attempt: number }>();
    const wake = deferred();
    const retryWaiting = deferred();
    let sends = 0;
    hooks = {
      beforeSend: async (ctx) => {
        if (ctx.shopId !== shop.shopId || ctx.attempt !== 1) return;
        sends += 1;
        if (sends === 2) {
          stalled.resolve(ctx);
          await wake.promise;
        }
      },
      whileKeyBusy: async (ctx) => {
        if (ctx.shopId === shop.shopId) retryWaiting.resolve();
      },
    };
    const first = refreshThroughTemporal(shop, { startToCloseTimeoutMs: 4_000, maximumAttempts: 5 });
    const frozen = await stalled.promise;
    // While it is frozen the ERP goes back to 30; Temporal times the attempt out and retries it (same version).
    await shop.setSource('erp', SKU, WH, 30);
    await retryWaiting.promise;
    const retried = await first;
    expect(retried.version).toBe(frozen.version.toString());
    expect(retried.written).toEqual({ [`${SKU}|${WH}`]: 30 });
    // The next flush (a newer version) computes and writes the same 30.
    const newer = await refreshThroughTemporal(shop);
    expect(BigInt(newer.version)).toBeGreaterThan(frozen.version);
    expect(shop.level(SKU, WH).available).toBe(30);

    // Now the abandoned attempt wakes, with its 50 and a compare value (30) that Shopify still holds.
    wake.resolve();
    await vi.waitFor(
      async () => {
        const rows = (await auditRows(svc, shop.shopId)).filter((r) => r.version === frozen.version.toString() && r.outcome === 'abandoned');
        expect(rows).toHaveLength(1);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(shop.level(SKU, WH).available).toBe(30);
    const versions = appliedVersions(shop);
    expect(versions.length).toBeGreaterThan(0);
    expect(versions).toEqual([...versions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(versions.at(-1)).toBe(BigInt(newer.version));
    const rows = await auditRows(svc, shop.shopId);
    const abandoned = rows.find((r) => r.outcome === 'abandoned')!;
    expect(abandoned).toMatchObject({ version: frozen.version.toString(), ats: 50, error_code: 'ISYNC_WRITE_ABANDONED' });
    // Nothing with 50 was applied after the abandoned attempt's turn.
    expect(rows.filter((r) => r.outcome === 'applied' && r.id > abandoned.id)).toEqual([]);
    const droppedAfter = (await writesDropped.get()).values.filter((v) => v.labels.shop === shop.shopId).reduce((n, v) => n + v.value, 0);
    expect(droppedAfter).toBe(droppedBefore + 1);
    expect(faults.some((f) => f.shopDomain === shop.domain && f.kind === 'throttled' && f.delayMs >= 1_000)).toBe(true);
  });

  it('a Retry-After longer than the attempt has left fails the attempt at once; its retry writes the newest ATS', async () => {
    const shop = await shopAt(20);
    hooks = {};
    await shop.setSource('erp', SKU, WH, 25);
    emu.emulator.failNextRequests(shop.domain, 1, { throttle: true, retryAfterSeconds: 600 });
    const summary = await refreshThroughTemporal(shop, { startToCloseTimeoutMs: 5_000, maximumAttempts: 3 });
    expect(summary.written).toEqual({ [`${SKU}|${WH}`]: 25 });
    expect(shop.level(SKU, WH).available).toBe(25);
    const rows = (await auditRows(svc, shop.shopId)).filter((r) => r.version === summary.version);
    expect(rows.map((r) => [r.outcome, r.error_code])).toEqual([
      ['error', 'ISYNC_SHOPIFY_THROTTLED'],
      ['applied', null],
    ]);
    expect(faults.some((f) => f.shopDomain === shop.domain && f.kind === 'throttled' && f.delayMs === 600_000)).toBe(true);
  });

  it('a lease renewal that fails (Redis gone) abandons the write during its wait: nothing is sent', async () => {
    const shop = await shopAt(10);
    await shop.setSource('erp', SKU, WH, 12);
    const own = new Redis(inject('redisUrl'), { keyPrefix: (svc.redis.options.keyPrefix as string | undefined) ?? '', maxRetriesPerRequest: 0, retryStrategy: () => null });
    const applied = appliedVersions(shop).length;
    emu.emulator.failNextRequests(shop.domain, 1, { throttle: true, retryAfterSeconds: 30 });
    const client = createShopifyClient({
      shopDomain: shop.domain,
      accessToken: shop.token,
      baseUrl: emu.url,
      // The first throttle puts the write into a 30 s wait; Redis goes away right then.
      onFault: (f) => {
        if (f.kind === 'throttled') own.disconnect();
      },
    });
    const refresh = shop.refresh({ redis: own, leaseMs: LEASE_MS, shopify: () => client });
    await expect(refresh.refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' })).rejects.toMatchObject({
      code: 'ISYNC_WRITE_ABANDONED',
      message: expect.stringContaining('lease renewal failed'),
    });
    expect(appliedVersions(shop)).toHaveLength(applied);
    expect(shop.level(SKU, WH).available).toBe(10);
    const last = (await auditRows(svc, shop.shopId)).at(-1)!;
    expect(last).toMatchObject({ outcome: 'abandoned', error_code: 'ISYNC_WRITE_ABANDONED', ats: 12 });
  });
});
