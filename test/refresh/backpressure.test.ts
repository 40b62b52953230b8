import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { createSources } from '../../src/runtime/sources.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { markDirty, refreshPending, waitForRefreshRoom } from '../../src/temporal/handoff.js';
import { shopRefreshStateQuery } from '../../src/workflows/index.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { createShopFixture, sharedSourcesConfig, startWorkerOn } from './fixture.js';

// A producer that outpaces the refresh (a forced full sync of a large catalogue) waits while the shop's refresh
// has a large backlog: a run can continue as new only with few keys pending, and a run that cannot grows its
// history past Temporal's 50 MB limit (issue 17). The interleaving is forced: with an hour's coalescing window
// and fewer than 250 keys pending nothing flushes, so the producer must still be waiting however often it looks;
// only the keys that take the shop to 250 start a flush, which empties the pending set and lets it go.
describe('flow control from a producer to the shop refresh', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
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

  const keys = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ sku: `BP-${from + i}`, locationId: 'WH1' }));

  /** A shop whose refresh waits an hour before flushing fewer than 250 keys, and a worker for it. */
  async function quietShop(prefix: string) {
    const sourcePrefix = `${prefix}-${Date.now().toString(36)}`;
    const shop = await createShopFixture(svc, emu, { skus: ['A'], locations: ['WH1'], sourcePrefix });
    const taskQueue = `${prefix}-${randomUUID()}`;
    const config = sharedSourcesConfig(sourcePrefix);
    config.inventory_sync = { ...config.inventory_sync, aggregation: { ...config.inventory_sync.aggregation, coalesce_window_ms: 3_600_000 } };
    const worker = await startWorkerOn(
      taskQueue,
      createActivities({ db: svc.db, redis: svc.redis, config, sources: createSources(config, svc.db), shopify: () => shop.shopify, temporal: svc.temporal, taskQueue }),
    );
    stops.push(() => worker.stop());
    return { shop, deps: { temporal: svc.temporal, taskQueue } };
  }

  it('waits while pending + incoming passes the high water mark, until pending is down to the low one', async () => {
    const { shop, deps } = await quietShop('bp');

    // No refresh workflow yet: nothing pending, no wait.
    expect(await refreshPending(deps, shop.shopId)).toBe(0);
    expect(await waitForRefreshRoom(deps, shop.shopId, 10_000, { highWater: 100 })).toBe(0);

    await markDirty(deps, { shopId: shop.shopId, keys: keys(0, 100), trigger: 'full_sync:test' });
    await expect.poll(() => refreshPending(deps, shop.shopId)).toBe(100);
    // Room for 20 more under a high water of 120: no wait.
    expect(await waitForRefreshRoom(deps, shop.shopId, 20, { highWater: 120 })).toBe(0);

    const seen: number[] = [];
    let settled = false;
    const waiting = waitForRefreshRoom(deps, shop.shopId, 50, { highWater: 120, lowWater: 10, pollMs: 20, onPending: (n) => seen.push(n) }).finally(() => {
      settled = true;
    });
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    expect(settled).toBe(false);
    expect(seen.every((n) => n === 100)).toBe(true);

    // 150 more keys take the shop to 250: the flush starts at once and takes them all out of pending.
    await markDirty(deps, { shopId: shop.shopId, keys: keys(100, 150), trigger: 'full_sync:test' });
    const waits = await waiting;
    expect(waits).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBeLessThanOrEqual(10);
    const state = await svc.temporal.workflow.getHandle(`refresh:${shop.shopId}`).query(shopRefreshStateQuery);
    expect(state.flushes).toBeGreaterThanOrEqual(1);
  });

  it('stops waiting when its signal aborts, naming why', async () => {
    const { shop, deps } = await quietShop('bp2');
    await markDirty(deps, { shopId: shop.shopId, keys: keys(0, 50), trigger: 'full_sync:test' });
    await expect.poll(() => refreshPending(deps, shop.shopId)).toBe(50);

    const abort = new AbortController();
    const seen: number[] = [];
    const waiting = waitForRefreshRoom(deps, shop.shopId, 100, { highWater: 100, lowWater: 10, pollMs: 20, signal: abort.signal, onPending: (n) => seen.push(n) });
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    abort.abort(new Error('activity cancelled'));
    await expect(waiting).rejects.toThrow('activity cancelled');
  });
});
