import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { workflowIds } from '../../src/domain/keys.js';
import { buildWorkerProcess, spawnWorker, workerSpec, type ChildWorker } from './fixtures/worker-process-build.js';
import type { WorkerSpec } from './fixtures/worker-process.js';
import { startRig, type Rig } from './rig.js';

const SKU = 'LAMP-OAK';
const WH = 'WH1';
const poll = { timeout: 45_000, interval: 200 };

describe('a worker SIGKILLed mid-lifecycle and replaced', () => {
  let rig: Rig;
  let file: string;
  let dir = '';
  let spec: WorkerSpec;
  let a: ChildWorker | undefined;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, skus: [SKU], webhooks: false, worker: false });
    ({ file, dir } = await buildWorkerProcess());
    spec = workerSpec({ ...rig, emulatorUrl: rig.emu.url });
  });
  afterAll(async () => {
    a?.child.kill('SIGKILL');
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('completes the lifecycle: nothing lost, nothing applied twice', { timeout: 120_000 }, async () => {
    // Worker A dies right after the WMS conversion committed, before it could report the activity complete.
    a = spawnWorker(file, { ...spec, hangAfter: 'convertAllocation' });
    await a.printed('worker-ready');
    const orderId = rig.ext('pos-outage-1');
    const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 10, 0, s)).toISOString();
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'pos-outage-1', updatedAt: at(1), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 4 }] })).status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0], poll).toMatchObject({ claimed: 4, shopify_adjusted: 4 });
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(6);

    const allocatedAt = new Date().toISOString();
    expect((await rig.postWms({ shopId: rig.shopId, orderId: 'pos-outage-1', channel: 'oms', allocationId: 'w-1', occurredAt: allocatedAt, lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 3 }] })).status).toBe(202);
    await a.printed('race-point:convertAllocation');
    a.child.kill('SIGKILL');
    expect(await a.exited).toBeNull();

    // While no worker runs: the WMS total catches up (the claim converts in that transaction), the channel cancels.
    await recordSourceChanges(rig.svc.db, `${rig.shopId}-wms`, [{ shopId: rig.shopId, sku: SKU, locationId: WH, quantity: 3, occurredAt: new Date(Date.parse(allocatedAt) + 1000).toISOString() }]);
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 1, allocated: 3 });
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'pos-outage-1', status: 'cancelled', updatedAt: at(2) })).status).toBe(202);

    // Worker B takes over the same task queue; the timed-out activity is retried and the cancel applied.
    await rig.startWorker();
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    await expect.poll(async () => (await handle.describe()).status.name, poll).toBe('COMPLETED');
    expect(await handle.result()).toMatchObject({ state: 'cancelled' });
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 0, allocated: 3, shopify_adjusted: 0 });
    const conversions = await rig.svc.db.query('SELECT converted FROM wms_allocations WHERE shop_id = $1 AND order_id = $2', [rig.shopId, orderId]);
    expect(conversions.rows).toEqual([{ converted: 3 }]);
    // Shopify: taken once (-4), given back once (+4), then set to ATS = 10 - 3 allocated by the WMS.
    const counters = rig.emu.emulator.counters(rig.domain);
    expect(Object.values(counters.mutationsAppliedByKey).every((n) => n === 1)).toBe(true);
    await expect.poll(async () => rig.available(SKU, WH) === (await rig.ats(SKU, WH)), poll).toBe(true);
    expect(await rig.ats(SKU, WH)).toBe(7);
  });
});
