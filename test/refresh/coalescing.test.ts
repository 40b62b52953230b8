import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { markDirty } from '../../src/temporal/handoff.js';
import { createSources } from '../../src/runtime/sources.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import type { SourceAdapter } from '../../src/sources/adapter.js';
import { shopRefreshStateQuery } from '../../src/workflows/index.js';
import { PRECISE_WINDOW_MAX_MS } from '../../src/workflows/shop-refresh.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { auditRows, createShopFixture, sharedSourcesConfig, startWorkerOn, type ShopFixture } from './fixture.js';
import type { SkuLocation } from '../../src/domain/sku-location.js';

describe("the shop's coalescing refresh workflow", () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const sourcePrefix = `co-${Date.now().toString(36)}`;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await svc?.close();
    await emu?.close();
  });

  /** A task queue with no worker yet: signals sent now are all in the history the workflow's first task sees. */
  function queue(shop: ShopFixture, coalesceWindowMs: number, extraSources: SourceAdapter[] = []) {
    const taskQueue = `co-${randomUUID()}`;
    const config = { ...sharedSourcesConfig(sourcePrefix) };
    config.inventory_sync = { ...config.inventory_sync, aggregation: { ...config.inventory_sync.aggregation, coalesce_window_ms: coalesceWindowMs } };
    return {
      taskQueue,
      config,
      dirty: (keys: SkuLocation[], trigger: string) => markDirty({ temporal: svc.temporal, taskQueue }, { shopId: shop.shopId, keys, trigger }),
      async startWorker() {
        const worker = await startWorkerOn(
          taskQueue,
          createActivities({ db: svc.db, redis: svc.redis, config, sources: [...createSources(config, svc.db), ...extraSources], shopify: () => shop.shopify, temporal: svc.temporal, taskQueue }),
        );
        stops.push(() => worker.stop());
      },
      handle: () => svc.temporal.workflow.getHandle(`refresh:${shop.shopId}`),
    };
  }

  const keysOf = (skus: string[]) => skus.map((sku) => ({ sku, locationId: 'WH1' }));

  it('a burst of events for the same keys costs one computation and one Shopify write per key', async () => {
    const skus = ['A', 'B', 'C'];
    const shop = await createShopFixture(svc, emu, { skus, locations: ['WH1'], sourcePrefix });
    for (const [i, sku] of skus.entries()) await shop.setSource('erp', sku, 'WH1', 10 * (i + 1));
    const q = queue(shop, 0);
    for (let i = 0; i < 30; i++) await q.dirty(keysOf(skus), i % 3 === 0 ? 'claim' : 'source_event');
    const before = emu.emulator.counters(shop.domain).mutationsApplied;
    await q.startWorker();

    await expect.poll(() => skus.map((s) => shop.level(s, 'WH1').available), { timeout: 20_000 }).toEqual([10, 20, 30]);
    await expect.poll(() => q.handle().query(shopRefreshStateQuery)).toMatchObject({ pending: 0, flushes: 1, keysFlushed: 3 });
    expect(emu.emulator.counters(shop.domain).mutationsApplied - before).toBe(1);
    const rows = await auditRows(svc, shop.shopId);
    expect(rows.map((r) => [r.sku, r.outcome, r.trigger])).toEqual(skus.map((s) => [s, 'applied', 'claim,source_event']));
    expect(new Set(rows.map((r) => r.version)).size).toBe(1);
    await q.handle().terminate('test over');
  });

  it('keys dirtied within the coalescing window are flushed together', async () => {
    const skus = ['D', 'E', 'F'];
    const shop = await createShopFixture(svc, emu, { skus, locations: ['WH1'], sourcePrefix });
    for (const sku of skus) await shop.setSource('erp', sku, 'WH1', 7);
    const q = queue(shop, 1500);
    await q.startWorker();
    for (const sku of skus) await q.dirty(keysOf([sku]), 'source_event');

    await expect.poll(() => skus.map((s) => shop.level(s, 'WH1').available), { timeout: 20_000 }).toEqual([7, 7, 7]);
    await expect.poll(() => q.handle().query(shopRefreshStateQuery)).toMatchObject({ flushes: 1, keysFlushed: 3 });
    await q.handle().terminate('test over');
  });

  // Temporal fires a timer shorter than ~1 s after ~1 s (history.timerProcessorMaxTimeShift): a 200 ms window waited
  // ~1 s. A short window is the coalesceDelay activity's (the worker's clock); a long one keeps a Temporal timer.
  it('a short coalescing window is kept by the coalesceDelay activity, not a Temporal timer; a long one by a timer', async () => {
    /** One key of a fresh shop flushed through a queue with this window: the run's history once Shopify holds it. */
    const historyOfOneFlush = async (sku: string, quantity: number, windowMs: number) => {
      const shop = await createShopFixture(svc, emu, { skus: [sku], locations: ['WH1'], sourcePrefix });
      await shop.setSource('erp', sku, 'WH1', quantity);
      const q = queue(shop, windowMs);
      await q.startWorker();
      await q.dirty(keysOf([sku]), 'source_event');
      await expect.poll(() => shop.level(sku, 'WH1').available, { timeout: 20_000 }).toBe(quantity);
      const events = (await q.handle().fetchHistory()).events ?? [];
      await q.handle().terminate('test over');
      return events;
    };
    const isDelay = (e: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null }) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'coalesceDelay';

    // Just under PRECISE_WINDOW_MAX_MS: a window the first workflow task had already outlived would flush at once
    // with no wait at all (a 300 ms window did so once, in CI on a loaded machine).
    const window = PRECISE_WINDOW_MAX_MS - 100;
    const short = await historyOfOneFlush('W', 5, window);
    const delays = short.filter(isDelay);
    expect(delays.length).toBeGreaterThanOrEqual(1);
    const waited = JSON.parse(Buffer.from(delays[0]!.activityTaskScheduledEventAttributes!.input!.payloads![0]!.data!).toString()) as number;
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThanOrEqual(window);
    expect(short.some((e) => e.timerStartedEventAttributes)).toBe(false);

    const long = await historyOfOneFlush('X', 6, 2_500);
    expect(long.some((e) => e.timerStartedEventAttributes)).toBe(true);
    expect(long.some(isDelay)).toBe(false);
  });

  it('250 pending keys flush at once without waiting for the window', async () => {
    const skus = Array.from({ length: 250 }, (_, i) => `G${i}`);
    const shop = await createShopFixture(svc, emu, { skus, locations: ['WH1'], sourcePrefix });
    await svc.db.query(
      `INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at) SELECT $1, $2, sku, 'WH1', 3, now() FROM unnest($3::text[]) sku`,
      [shop.source.erp, shop.shopId, skus],
    );
    const q = queue(shop, 600_000);
    await q.startWorker();
    await q.dirty(keysOf(skus), 'reconciliation');
    await expect.poll(() => shop.level('G249', 'WH1').available, { timeout: 20_000 }).toBe(3);
    await expect.poll(() => q.handle().query(shopRefreshStateQuery)).toMatchObject({ flushes: 1, keysFlushed: 250 });
    await q.handle().terminate('test over');
  });

  it('a flush takes the keys it would leave behind when they are fewer than 250: 260 keys go in one flush, none waits a window', async () => {
    const skus = Array.from({ length: 260 }, (_, i) => `R${i}`);
    const shop = await createShopFixture(svc, emu, { skus, locations: ['WH1'], sourcePrefix });
    await svc.db.query(
      `INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at) SELECT $1, $2, sku, 'WH1', 4, now() FROM unnest($3::text[]) sku`,
      [shop.source.erp, shop.shopId, skus],
    );
    // A window of 10 minutes: before the change the last 10 keys waited for it (a flush of 250, then one of 10).
    const q = queue(shop, 600_000);
    await q.startWorker();
    const before = emu.emulator.counters(shop.domain).mutationsApplied;
    await q.dirty(keysOf(skus), 'wms_allocation');
    await expect.poll(() => skus.filter((s) => shop.level(s, 'WH1').available === 4).length, { timeout: 20_000 }).toBe(260);
    await expect.poll(() => q.handle().query(shopRefreshStateQuery)).toMatchObject({ pending: 0, flushes: 1, keysFlushed: 260 });
    // Still one Shopify call per 250 entries: 250 and 10.
    expect(emu.emulator.counters(shop.domain).mutationsApplied - before).toBe(2);
    await q.handle().terminate('test over');
  });

  it('continues as new when the history grows, carrying the pending keys, then flushes them in batches of 250', async () => {
    const skus = Array.from({ length: 300 }, (_, i) => `H${i}`);
    const shop = await createShopFixture(svc, emu, { skus, locations: ['WH1'], sourcePrefix });
    await svc.db.query(
      `INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at) SELECT $1, $2, sku, 'WH1', 5, now() FROM unnest($3::text[]) sku`,
      [shop.source.erp, shop.shopId, skus],
    );
    const q = queue(shop, 0);
    // One signal per key: 300 signals take the history past the test server's 200-event continue-as-new hint.
    for (const sku of skus) await q.dirty(keysOf([sku]), 'delta_sync');
    const firstRun = (await q.handle().describe()).runId;
    const before = emu.emulator.counters(shop.domain).mutationsApplied;
    await q.startWorker();

    await expect.poll(() => skus.filter((s) => shop.level(s, 'WH1').available === 5).length, { timeout: 30_000 }).toBe(300);
    expect((await svc.temporal.workflow.getHandle(`refresh:${shop.shopId}`, firstRun).describe()).status.name).toBe('CONTINUED_AS_NEW');
    expect((await q.handle().describe()).runId).not.toBe(firstRun);
    expect(emu.emulator.counters(shop.domain).mutationsApplied - before).toBe(2);
    await expect.poll(async () => (await auditRows(svc, shop.shopId)).filter((r) => r.outcome === 'applied').length).toBe(300);
    await q.handle().terminate('test over');
  });

  it('a flush whose source times out writes nothing; the retried flush pushes the right value', async () => {
    const shop = await createShopFixture(svc, emu, { skus: ['T'], locations: ['WH1'], sourcePrefix, initialAvailable: () => 1 });
    await shop.setSource('erp', 'T', 'WH1', 9);
    let calls = 0;
    const flakyPos: SourceAdapter = {
      name: `${shop.shopId}-till`,
      role: 'pos',
      async getComponents(_shop, keys, signal) {
        // The first read never answers; later reads do.
        if (++calls === 1) await new Promise((resolve) => signal.addEventListener('abort', resolve));
        return new Map(keys.map((k) => [`${k.sku}|${k.locationId}`, 2]));
      },
    };
    const q = queue(shop, 0, [flakyPos]);
    q.config.inventory_sync.aggregation.parallel_fetch_timeout_ms = 200;
    await q.startWorker();
    await q.dirty(keysOf(['T']), 'source_event');

    await expect.poll(() => shop.level('T', 'WH1').available, { timeout: 20_000 }).toBe(7);
    // The audit row is stored once Shopify has answered, a moment after the level changed.
    await expect
      .poll(async () => (await auditRows(svc, shop.shopId)).map((r) => [r.outcome, r.error_code]))
      .toEqual([
        ['source_failed', 'ISYNC_SOURCE_TIMEOUT'],
        ['applied', null],
      ]);
    await q.handle().terminate('test over');
  });
});
