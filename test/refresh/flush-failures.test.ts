import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { markDirty } from '../../src/temporal/handoff.js';
import type { ShopifyInventoryPort } from '../../src/activities/refresh.js';
import { Errors, type InventorySyncError } from '../../src/domain/errors.js';
import { createSources } from '../../src/runtime/sources.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { shopRefreshStateQuery, shopRefreshWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { auditRows, createShopFixture, sharedSourcesConfig, startWorkerOn, type ShopFixture } from './fixture.js';
import type { SkuLocation } from '../../src/domain/sku-location.js';

/**
 * The shop refresh workflow when a flush fails: a failure retrying cannot fix drops the flush's keys and keeps the
 * loop alive for the others; a failure that outlasts the activity's retries hands the keys back to the queue,
 * which flushes them again after the backoff.
 */
describe("the shop's refresh workflow when a flush fails", () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const sourcePrefix = `ff-${Date.now().toString(36)}`;
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

  /** Shopify writes for `failing` keys throw `error()` while `failuresLeft` > 0; every write is counted per key. */
  async function rig(shop: ShopFixture) {
    const state = { failing: new Set<string>(), failuresLeft: 0, error: (): InventorySyncError => Errors.ShopifyUnavailable('test: Shopify is down'), writes: new Map<string, number>() };
    const port = {
      ...shop.shopify,
      async setAvailable(...[entries, opts]: Parameters<ShopifyInventoryPort['setAvailable']>) {
        for (const e of entries) {
          const sku = [...shop.catalog.ids].find(([, v]) => v.inventoryItemId === e.inventoryItemId)![0].split('|')[0]!;
          state.writes.set(sku, (state.writes.get(sku) ?? 0) + 1);
          if (state.failing.has(sku) && state.failuresLeft > 0) {
            state.failuresLeft -= 1;
            throw state.error();
          }
        }
        return shop.shopify.setAvailable(entries, opts);
      },
    };
    const taskQueue = `ff-${randomUUID()}`;
    const config = sharedSourcesConfig(sourcePrefix);
    const worker = await startWorkerOn(taskQueue, createActivities({ db: svc.db, redis: svc.redis, config, sources: createSources(config, svc.db), shopify: () => port, temporal: svc.temporal, taskQueue }));
    stops.push(() => worker.stop());
    // Started with a short backoff so a re-queued flush comes back within the test.
    await svc.temporal.workflow.start(shopRefreshWorkflow, { taskQueue, workflowId: `refresh:${shop.shopId}`, args: [{ shopId: shop.shopId, pending: [], coalesceWindowMs: 0, failureBackoffMs: 300 }] });
    return {
      state,
      dirty: (keys: SkuLocation[]) => markDirty({ temporal: svc.temporal, taskQueue }, { shopId: shop.shopId, keys, trigger: 'test' }),
      view: () => svc.temporal.workflow.getHandle(`refresh:${shop.shopId}`).query(shopRefreshStateQuery),
      stop: () => svc.temporal.workflow.getHandle(`refresh:${shop.shopId}`).terminate('test over'),
    };
  }

  it('a failure retrying cannot fix drops that flush once; the loop goes on and flushes other keys', async () => {
    const shop = await createShopFixture(svc, emu, { skus: ['BAD', 'GOOD'], locations: ['WH1'], sourcePrefix });
    await shop.setSource('erp', 'BAD', 'WH1', 5);
    await shop.setSource('erp', 'GOOD', 'WH1', 6);
    const r = await rig(shop);
    r.state.failing.add('BAD');
    r.state.failuresLeft = 100;
    r.state.error = () => Errors.ShopifyAuth('test: the access token was revoked');

    await r.dirty([{ sku: 'BAD', locationId: 'WH1' }]);
    await expect.poll(r.view, { timeout: 20_000 }).toMatchObject({ failedFlushes: 1, pending: 0 });
    await r.dirty([{ sku: 'GOOD', locationId: 'WH1' }]);
    await expect.poll(r.view, { timeout: 20_000 }).toMatchObject({ flushes: 2, failedFlushes: 1, keysFlushed: 1, pending: 0 });
    expect(shop.level('GOOD', 'WH1').available).toBe(6);
    // Not retried by Temporal, not re-queued by the workflow: one write attempt for the key, audited as an error.
    expect(r.state.writes.get('BAD')).toBe(1);
    expect(shop.level('BAD', 'WH1').available).toBe(0);
    const bad = (await auditRows(svc, shop.shopId)).filter((row) => row.sku === 'BAD');
    expect(bad.map((row) => [row.outcome, row.error_code])).toEqual([['error', 'ISYNC_SHOPIFY_AUTH']]);
    await r.stop();
  });

  it('a failure that outlasts the activity retries hands the keys back; after the backoff they are flushed and land', async () => {
    const shop = await createShopFixture(svc, emu, { skus: ['FLAKY'], locations: ['WH1'], sourcePrefix });
    await shop.setSource('erp', 'FLAKY', 'WH1', 9);
    const r = await rig(shop);
    r.state.failing.add('FLAKY');
    r.state.failuresLeft = 5; // exactly the activity's maximumAttempts in the shop refresh workflow

    await r.dirty([{ sku: 'FLAKY', locationId: 'WH1' }]);
    await expect.poll(r.view, { timeout: 45_000, interval: 200 }).toMatchObject({ flushes: 2, failedFlushes: 1, keysFlushed: 1, pending: 0 });
    expect(shop.level('FLAKY', 'WH1').available).toBe(9);
    expect(r.state.writes.get('FLAKY')).toBe(6);
    const rows = (await auditRows(svc, shop.shopId)).filter((row) => row.sku === 'FLAKY');
    expect(rows.map((row) => row.outcome)).toEqual(['error', 'error', 'error', 'error', 'error', 'applied']);
    await r.stop();
  }, 60_000);
});
