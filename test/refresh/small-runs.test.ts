import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import type { RefreshSummary } from '../../src/activities/refresh-types.js';
import { createSources } from '../../src/runtime/sources.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { markDirty } from '../../src/temporal/handoff.js';
import { RUN_HISTORY_BYTES } from '../../src/workflows/shop-refresh.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { createShopFixture, startWorkerOn } from './fixture.js';

// A shop's refresh run continues as new once its history passes RUN_HISTORY_BYTES, long before Temporal suggests
// it (the tests' server suggests at 200 events): a signal arriving during the continue-as-new task makes the worker
// replay the whole run, and a 4.3 MB run took 1.1 s to replay at 1,000 events/s (issue 17). Its flushes return
// counts only, so their results do not fill the history. Forced: three signals of 2,000 keys with 200-character
// SKUs put ~2.4 MB (signals and flush inputs) into a run of well under 200 events. Those keys are also too large to
// carry 5,000 of into the next run (Temporal refused that input on every retry, and the refresh stopped): the run
// carries at most MAX_CARRIED_BYTES.
describe('the shop refresh keeps its runs small', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await stop?.();
    await svc?.close();
    await emu?.close();
  });

  it('continues as new past 1 MB of history, and its flushes store counts, not every key written', async () => {
    const shop = await createShopFixture(svc, emu, { skus: ['A'], locations: ['WH1'], initialAvailable: () => 0 });
    await shop.setSource('erp', 'A', 'WH1', 12);
    await shop.setSource('wms', 'A', 'WH1', 0);
    await shop.setSource('pos', 'A', 'WH1', 0);
    const taskQueue = `small-runs-${randomUUID()}`;
    const worker = await startWorkerOn(
      taskQueue,
      createActivities({ db: svc.db, redis: svc.redis, config: shop.config, sources: createSources(shop.config, svc.db), shopify: () => shop.shopify, temporal: svc.temporal, taskQueue }),
    );
    stop = () => worker.stop();
    const deps = { temporal: svc.temporal, taskQueue };

    const long = (i: number) => ({ sku: `LONG-${String(i).padStart(6, '0')}-${'x'.repeat(188)}`, locationId: 'WH1' });
    await markDirty(deps, { shopId: shop.shopId, keys: [{ sku: 'A', locationId: 'WH1' }, ...Array.from({ length: 1999 }, (_, i) => long(i))], trigger: 'test' });
    const handle = svc.temporal.workflow.getHandle(`refresh:${shop.shopId}`);
    const firstRun = (await handle.describe()).runId;
    for (let s = 1; s < 3; s++) await markDirty(deps, { shopId: shop.shopId, keys: Array.from({ length: 2000 }, (_, i) => long(s * 2000 + i)), trigger: 'test' });

    await expect.poll(async () => (await handle.describe()).runId, { timeout: 60_000, interval: 250 }).not.toBe(firstRun);
    const closed = await svc.temporal.workflow.getHandle(handle.workflowId, firstRun).describe();
    expect(closed.status.name).toBe('CONTINUED_AS_NEW');
    // Not Temporal's suggestion (200 events here): our byte threshold.
    expect(closed.historyLength).toBeLessThan(200);
    expect(closed.historySize).toBeGreaterThan(RUN_HISTORY_BYTES);

    // The mapped key was written; every flush result in the history carries counts and an empty `written`.
    expect(shop.level('A', 'WH1').available).toBe(12);
    const history = await svc.temporal.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
    const results = (history.events ?? [])
      .filter((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.length)
      .map((e) => JSON.parse(Buffer.from(e.activityTaskCompletedEventAttributes!.result!.payloads![0]!.data!).toString()) as RefreshSummary | { coalesceWindowMs: number })
      .filter((r): r is RefreshSummary => 'written' in r);
    expect(results.length).toBeGreaterThan(0);
    expect(results.reduce((n, r) => n + r.applied, 0)).toBe(1);
    expect(results.every((r) => Object.keys(r.written).length === 0)).toBe(true);
  }, 120_000);
});
