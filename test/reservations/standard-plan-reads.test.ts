import { afterAll, describe, expect, it } from 'vitest';
import { orderIdOf, startRig, type Rig } from './rig.js';

/**
 * What one Shopify order costs a Standard-plan shop (100 points/s): in a shop whose Shopify account lists one active
 * location the order is claimed from its webhook with no fulfillment-order read (the emulator counts the `order`
 * queries it executed); a shop with two locations still reads, and an order Shopify committed at a location we do
 * not map is reported unmapped, never claimed at the one we map.
 */
const SKU = 'TEE-RED-M';
const poll = { timeout: 20_000, interval: 100 };

describe('Standard-plan shops: the fulfillment-order read only where it can tell something', () => {
  // One rig (services, task queue, worker) per test: a worker polls its queue with its own shop's configuration.
  const rigs: Rig[] = [];
  afterAll(async () => {
    for (const r of rigs) await r.close();
  });
  const rig = async (locations: string[]) => {
    const r = await startRig({ plan: 'standard', onHand: 10, locations });
    rigs.push(r);
    return r;
  };
  const reads = (r: Rig) => r.emu.emulator.counters(r.domain).rootFields;

  it('a single-location shop: orders claimed with no fulfillment-order read, one locations probe for both', async () => {
    const r = await rig(['WH1']);
    const first = r.emu.emulator.placeOrder(r.domain, { lines: [{ sku: SKU, quantity: 2 }] });
    await expect.poll(async () => (await r.claimLines(orderIdOf(first))).map((l) => [l.location_id, l.claimed]), poll).toEqual([['WH1', 2]]);
    const second = r.emu.emulator.placeOrder(r.domain, { lines: [{ sku: SKU, quantity: 3 }] });
    await expect.poll(async () => (await r.claimLines(orderIdOf(second))).map((l) => [l.location_id, l.claimed]), poll).toEqual([['WH1', 3]]);

    expect(reads(r).order ?? 0).toBe(0);
    expect(reads(r).locations).toBe(1);
    await r.emu.emulator.drainWebhooks();
    await expect.poll(async () => r.available(SKU, 'WH1'), poll).toBe(5);
  });

  it('a two-location shop: each order is read (one sized query), and claimed where Shopify committed it', async () => {
    const r = await rig(['WH1', 'WH2']);
    const order = r.emu.emulator.placeOrder(r.domain, { lines: [{ sku: SKU, quantity: 2 }], locationId: r.catalog.locationIds.get('WH2')! });
    await expect.poll(async () => (await r.claimLines(orderIdOf(order))).map((l) => [l.location_id, l.claimed]), poll).toEqual([['WH2', 2]]);
    expect(reads(r).order).toBe(1);
    // One line: 1 fulfillment order of 1 line requested, 11 points, where the unsized read requested 928.
    expect(r.emu.emulator.counters(r.domain).requestedCost).toBeLessThan(100);
  });

  it('a second Shopify location we do not map: the order is read, reported unmapped, and not claimed at the mapped one', async () => {
    const r = await rig(['WH1']);
    // Our mappings know only WH1; Shopify has a second active location, and commits this order there.
    const unmappedLocation = r.emu.emulator.createLocation(r.domain, { name: 'Popup' }).id;
    const { variantId: variant, inventoryItemId } = r.catalog.ids.get(`${SKU}|WH1`)!;
    r.emu.emulator.setQuantities(r.domain, inventoryItemId, unmappedLocation, { available: 5 });
    const order = r.emu.emulator.placeOrder(r.domain, { lines: [{ sku: SKU, quantity: 1 }], locationId: unmappedLocation });
    const orderId = orderIdOf(order);
    await expect
      .poll(async () => (await r.svc.db.query<{ details: { variantAtLocation: string[] } }>(`SELECT details FROM alerts WHERE shop_id = $1 AND kind = 'unmapped_order_line' AND subject = $2`, [r.shopId, orderId])).rows, poll)
      .toEqual([{ details: { variantAtLocation: [`${variant.replace(/.*\//, '')}@${unmappedLocation.replace(/.*\//, '')}`] } }]);
    expect(reads(r).order).toBe(1);
    expect(await r.claimLines(orderId)).toEqual([]);
  });
});
