import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors } from '../../src/domain/errors.js';
import { startRig, type Rig } from './rig.js';

const SKU = 'MUG-BLUE';
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

describe('POST /orders: orders from channels Shopify does not count', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, skus: [SKU], webhooks: false });
  });
  afterAll(async () => {
    await rig?.close();
  });
  const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 9, 0, s)).toISOString();

  it('claims the lines and takes the units off Shopify once; cancelling gives back exactly what was taken', async () => {
    const orderId = rig.ext('amz-1001');
    const body = { shopId: rig.shopId, orderId: 'amz-1001', updatedAt: at(1), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 4 }] };
    const res = await rig.postOrder(body);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ orderId, workflowId: `reservation:${rig.shopId}:${orderId}` });
    // The same post again (a channel retry) changes nothing.
    expect((await rig.postOrder(body)).status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0], poll).toMatchObject({ claimed: 4, shopify_adjusted: 4 });
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(6);
    expect(await rig.ats(SKU, WH)).toBe(6);
    const status = await rig.status(orderId);
    expect(status).toMatchObject({ origin: 'external', state: 'claimed' });

    expect((await rig.postOrder({ ...body, status: 'cancelled', updatedAt: at(2), lines: [] })).status).toBe(202);
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('cancelled');
    await expect.poll(async () => (await rig.claimLines(orderId))[0], poll).toMatchObject({ claimed: 0, shopify_adjusted: 0 });
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(10);
    expect(await rig.ats(SKU, WH)).toBe(10);
    // Each adjustment applied exactly once in Shopify (claim, then release).
    const byKey = rig.emu.emulator.counters(rig.domain).mutationsAppliedByKey;
    expect(Object.values(byKey).every((n) => n === 1)).toBe(true);
  });

  it('an edit to fewer units gives back the difference; an older version of the order is ignored', async () => {
    const orderId = rig.ext('ebay-7');
    const line = (q: number) => [{ lineId: 'a', sku: SKU, locationId: WH, quantity: q }];
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'ebay-7', updatedAt: at(10), lines: line(3) })).status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0], poll).toMatchObject({ claimed: 3, shopify_adjusted: 3 });
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'ebay-7', updatedAt: at(12), lines: line(1) })).status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0], poll).toMatchObject({ claimed: 1, shopify_adjusted: 1 });
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'ebay-7', updatedAt: at(11), lines: line(5) })).status).toBe(202);
    await expect.poll(async () => (await rig.status(orderId)).staleEventsIgnored, poll).toBe(1);
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 1, shopify_adjusted: 1 });
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(9);
  });

  it('rejects a bad body naming the field, and a missing or wrong token', async () => {
    const bad = await rig.postOrder({ shopId: rig.shopId, orderId: 'x', updatedAt: at(1), lines: [{ lineId: 'a', sku: SKU, locationId: WH, quantity: -1 }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('lines.0.quantity');
    expect((await rig.postOrder({ shopId: rig.shopId }, 'nope')).status).toBe(401);
    // The WMS token may confirm allocations, not place orders... and the order token may not confirm allocations.
    expect((await rig.postWms({ shopId: rig.shopId }, rig.orderToken)).status).toBe(401);
    const unknownShop = await rig.postOrder({ shopId: 'nope', orderId: 'x', updatedAt: at(1), lines: [{ lineId: 'a', sku: SKU, locationId: WH, quantity: 1 }] });
    expect(unknownShop.status).toBe(403);
    expect(await unknownShop.json()).toMatchObject({ code: 'ISYNC_FORBIDDEN' });
    const unknownOrder = await fetch(`${rig.url}/reservations/${rig.shopId}/never-seen`, { headers: { authorization: `Bearer ${rig.operatorToken}` } });
    expect(unknownOrder.status).toBe(404);
    expect(await unknownOrder.json()).toMatchObject({ code: 'ISYNC_NOT_FOUND' });
  });
});

describe('an external order whose Shopify adjustment applied but whose answer was lost', () => {
  let rig: Rig;
  let lost = 0;
  beforeAll(async () => {
    rig = await startRig({
      onHand: 10,
      skus: [SKU],
      webhooks: false,
      // Shopify applies the adjustment, then the activity fails before recording it (the crash window).
      wrapShopify: (client) => ({
        ...client,
        adjustAvailable: async (...args: Parameters<typeof client.adjustAvailable>) => {
          const out = await client.adjustAvailable(...args);
          if (lost++ === 0) throw Errors.ShopifyUnavailable('connection reset after the mutation applied');
          return out;
        },
      }),
    });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('retries with the same idempotency key: Shopify replays, the units are taken once', async () => {
    const orderId = rig.ext('web-lost-1');
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'web-lost-1', updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 3 }] })).status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0], poll).toMatchObject({ claimed: 3, shopify_adjusted: 3 });
    expect(lost).toBeGreaterThanOrEqual(2);
    const counters = rig.emu.emulator.counters(rig.domain);
    expect(counters.idempotentReplays).toBeGreaterThanOrEqual(1);
    expect(Object.values(counters.mutationsAppliedByKey).every((n) => n === 1)).toBe(true);
    await expect.poll(() => rig.available(SKU, WH), poll).toBe(7);
  });
});
