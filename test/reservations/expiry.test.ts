import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

describe('the expiry timer (reservations.ttl_seconds = 2)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 20, ttlSeconds: 2 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('releases unallocated units at expiry, raises an alert, and Shopify follows ATS', async () => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 5 }] });
    const orderId = orderIdOf(order);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(5);
    expect(await rig.ats(SKU, WH)).toBe(15);
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('expired');
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 0 });
    const alerts = await rig.svc.db.query(`SELECT kind, subject, details FROM alerts WHERE shop_id = $1 AND kind = 'reservation_expired'`, [rig.shopId]);
    expect(alerts.rows).toEqual([expect.objectContaining({ subject: orderId, details: expect.objectContaining({ claimed: 5, released: true }) })]);
    // The released units are sellable again: ATS back to 20, and Shopify's available set to it.
    expect(await rig.ats(SKU, WH)).toBe(20);
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(20);
  });

  it('does not release units the WMS confirmed before the timer fired', async () => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 2 }] });
    const orderId = orderIdOf(order);
    const lineId = order.lineItems[0]!.id.split('/').pop()!;
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(2);
    const res = await rig.postWms({ shopId: rig.shopId, orderId, allocationId: 'a1', occurredAt: new Date().toISOString(), lines: [{ lineId, sku: SKU, locationId: WH, quantity: 2 }] });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await rig.status(orderId)).state, poll).toBe('allocated');
    // Wait until the expiry timer has fired and the workflow has handled it (the task after TimerFired completed).
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    const expiryHandled = async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const fired = events.map((e) => Boolean(e.timerFiredEventAttributes)).lastIndexOf(true);
      return fired >= 0 && events.slice(fired).some((e) => e.workflowTaskCompletedEventAttributes);
    };
    await expect.poll(expiryHandled, poll).toBe(true);
    // Confirmed units stay counted (as a claim until the WMS total shows them): never released by the timer.
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 2 });
    expect((await rig.reservation(orderId))?.state).toBe('allocated');
    const alerts = await rig.svc.db.query(`SELECT 1 FROM alerts WHERE shop_id = $1 AND subject = $2`, [rig.shopId, orderId]);
    expect(alerts.rowCount).toBe(0);
  });
});

describe('the expiry timer with auto_release_enabled = false', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 20, ttlSeconds: 1, autoRelease: false });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('alerts but keeps the claim', async () => {
    const orderId = orderIdOf(rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 3 }] }));
    await expect.poll(async () => (await rig.svc.db.query(`SELECT 1 FROM alerts WHERE shop_id = $1 AND subject = $2 AND kind = 'reservation_expired'`, [rig.shopId, orderId])).rowCount, poll).toBe(1);
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 3 });
    expect((await rig.status(orderId)).state).toBe('claimed');
  });
});
