import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const WH = 'WH1';
const poll = { timeout: 45_000, interval: 200 };

describe("the emulator's delivery faults: every webhook twice, half of them held back and reordered", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 50 });
    rig.emu.emulator.setFaults(rig.domain, { seed: 7, webhookDuplicate: 1, webhookReorder: 0.5 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('ends with the right state per order, each unit claimed once, and Shopify equal to ATS', async () => {
    const orders: { orderId: string; qty: number; cancelled: boolean }[] = [];
    for (let i = 0; i < 8; i++) {
      const qty = 1 + (i % 3);
      const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: qty }] });
      const cancelled = i % 2 === 1;
      if (cancelled) rig.emu.emulator.cancelOrder(rig.domain, placed.id);
      orders.push({ orderId: orderIdOf(placed), qty, cancelled });
    }
    await rig.emu.emulator.drainWebhooks();
    expect(rig.emu.emulator.counters(rig.domain).webhooksDuplicated).toBeGreaterThan(0);
    for (const o of orders) {
      await expect.poll(async () => (await rig.reservation(o.orderId))?.state, poll).toBe(o.cancelled ? 'cancelled' : 'claimed');
      await expect.poll(async () => (await rig.claimLines(o.orderId)).reduce((s, l) => s + l.claimed, 0), poll).toBe(o.cancelled ? 0 : o.qty);
    }
    const live = orders.filter((o) => !o.cancelled).reduce((s, o) => s + o.qty, 0);
    expect((await rig.counted(SKU, WH)).openClaims).toBe(live);
    expect(await rig.ats(SKU, WH)).toBe(50 - live);
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(50 - live);
    // Each delivery id recorded once, however many times it arrived.
    const { rows } = await rig.svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_deliveries WHERE shop_domain = $1', [rig.domain]);
    const distinct = new Set(rig.emu.emulator.webhookLog(rig.domain).filter((d) => d.topic.startsWith('orders/')).map((d) => d.webhookId));
    expect(rows[0]!.n).toBe(distinct.size);
  });
});
