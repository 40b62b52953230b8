import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const poll = { timeout: 20_000, interval: 100 };

describe('edits, moves, POS and fulfilment of Shopify orders', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, locations: ['WH1', 'WH2'] });
  });
  afterAll(async () => {
    await rig?.close();
  });

  async function settled(location: string) {
    await rig.emu.emulator.drainWebhooks();
    await expect.poll(async () => rig.available(SKU, location) === (await rig.ats(SKU, location)), poll).toBe(true);
  }

  it('follows a line edit (orders/updated) and a moved fulfillment order (claim moves to the new location)', async () => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 2 }] });
    const orderId = orderIdOf(order);
    await expect.poll(async () => (await rig.claimLines(orderId)).map((l) => [l.location_id, l.claimed]), poll).toEqual([['WH1', 2]]);
    rig.emu.emulator.editOrder(rig.domain, order.id, { lines: [{ lineItemId: order.lineItems[0]!.id, quantity: 5 }] });
    await expect.poll(async () => (await rig.claimLines(orderId)).map((l) => [l.location_id, l.claimed]), poll).toEqual([['WH1', 5]]);
    await settled('WH1');
    expect(rig.available(SKU, 'WH1')).toBe(5);

    const fo = rig.emu.emulator.getOrder(rig.domain, order.id).fulfillmentOrders.find((f) => f.status === 'OPEN')!;
    rig.emu.emulator.moveFulfillmentOrder(rig.domain, fo.id, rig.catalog.locationIds.get('WH2')!);
    await expect.poll(async () => (await rig.claimLines(orderId)).map((l) => [l.location_id, l.claimed]), poll).toEqual([
      ['WH1', 0],
      ['WH2', 5],
    ]);
    await settled('WH1');
    await settled('WH2');
    expect([rig.available(SKU, 'WH1'), rig.available(SKU, 'WH2')]).toEqual([10, 5]);
  });

  it('claims a POS order at the location it carries, and lets go when it is fulfilled', async () => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 1 }], sourceName: 'pos', locationId: rig.catalog.locationIds.get('WH1')! });
    const orderId = orderIdOf(order);
    await expect.poll(async () => (await rig.claimLines(orderId)).map((l) => [l.location_id, l.claimed]), poll).toEqual([['WH1', 1]]);
    rig.emu.emulator.fulfillOrder(rig.domain, order.id);
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('fulfilled');
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 0 });
  });
});
