import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkerProcess, spawnWorker, workerSpec, type ChildWorker } from './fixtures/worker-process-build.js';
import { startRig, type Rig } from './rig.js';

const SKU = 'DROP-6';
const WH = 'STORE1';
const poll = { timeout: 45_000, interval: 200 };

/**
 * An external order's claim commits, then the worker dies before Shopify was adjusted. A refresh runs meanwhile
 * and already sets Shopify to ATS (the claim counted in it). The replacement worker runs the claim step again,
 * which changes nothing in the database, then takes the units off Shopify: a second time, in effect. Only the
 * refresh that follows the adjustment repairs that, so the re-run step must still hand the order's keys to it.
 * (Found by the chaos bench: Shopify 6 against ATS 7, left until reconciliation.)
 */
describe('a claim step run again after its worker died', () => {
  let rig: Rig;
  let dir = '';
  let worker: ChildWorker | undefined;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, skus: [SKU], locations: [WH], webhooks: false, worker: false });
    let file: string;
    ({ file, dir } = await buildWorkerProcess());
    worker = spawnWorker(file, workerSpec({ ...rig, emulatorUrl: rig.emu.url }, { hangAfter: 'applyClaims' }));
    await worker.printed('worker-ready');
  });
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('still refreshes the order\'s keys, so Shopify ends equal to ATS', { timeout: 120_000 }, async () => {
    const orderId = rig.ext('chaos-1');
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'chaos-1', updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 3 }] })).status).toBe(202);
    await worker!.printed('race-point:applyClaims');
    worker!.child.kill('SIGKILL');
    expect(await worker!.exited).toBeNull();
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 3, shopify_adjusted: 0 });

    // The refresh that ran between the claim and the adjustment (here forced while no worker runs).
    await rig.activities.refreshKeys({ shopId: rig.shopId, keys: [{ sku: SKU, locationId: WH }], trigger: 'delta-sync' });
    expect(await rig.ats(SKU, WH)).toBe(7);
    expect(rig.available(SKU, WH)).toBe(7);

    // A replacement worker: the workflow task is retried, the claim step runs again, Shopify is adjusted.
    await rig.startWorker();
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.shopify_adjusted, poll).toBe(3);
    // The adjustment took 3 more (7 -> 4); the refresh it hands the keys to puts Shopify back at ATS.
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(7);
    expect(await rig.ats(SKU, WH)).toBe(7);
    expect((await rig.status(orderId)).lines).toMatchObject([{ sku: SKU, locationId: WH, claimed: 3 }]);
  });
});
