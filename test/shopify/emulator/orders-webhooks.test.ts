import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../src/shopify/emulator/index.js';
import { SHOP_A, control, gql, receiver, seed, start, type Seeded } from './helpers.js';

let run: RunningEmulator;
let s: Seeded;
let hooks: Awaited<ReturnType<typeof receiver>>;
let status: (n: number, topic: string) => number | 'hang';

beforeEach(async () => {
  run ??= await start();
  run.emulator.reset();
  status = () => 200;
  hooks = await receiver((r, n) => status(n, String(r.headers['x-shopify-topic'])));
  s = seed(run, 3, { webhookUrl: hooks.url, secret: 'shh-secret' });
});
afterEach(async () => hooks.close());
afterAll(async () => run?.close());

const level = (i: number, loc: string) => run.emulator.getLevel(SHOP_A, s.items[i]!.inventoryItemId, loc);
const topics = () => hooks.received.map((r) => r.headers['x-shopify-topic']);

describe('orders', () => {
  it('placing an order moves available to committed at the routed location; fulfillment orders readable by GraphQL', async () => {
    run.emulator.setQuantities(SHOP_A, s.items[1]!.inventoryItemId, s.locA, { available: 1 });
    run.emulator.setQuantities(SHOP_A, s.items[1]!.inventoryItemId, s.locB, { available: 5 });
    run.emulator.setQuantities(SHOP_A, s.items[0]!.inventoryItemId, s.locB, { available: 5 });
    const order = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'SKU-1', quantity: 2 }, { variantId: s.items[1]!.variantId, quantity: 3 }] });
    expect(order.status).toBe(201);
    // Warehouse A lacks SKU-2, so the order routes to Store B.
    expect(order.body.fulfillmentOrders[0].locationId).toBe(s.locB);
    expect([level(0, s.locB).available, level(0, s.locB).committed, level(0, s.locB).on_hand]).toEqual([3, 2, 5]);
    expect([level(1, s.locB).available, level(1, s.locB).committed]).toEqual([2, 3]);
    expect(level(0, s.locA).available).toBe(10);
    const q = await gql(
      run.url,
      `query($id: ID!) { order(id: $id) { id name fulfillmentOrders(first: 5) { nodes { id status assignedLocation { location { id } } lineItems(first: 10) { nodes { id remainingQuantity totalQuantity lineItem { id sku variant { id } } } } } } } }`,
      { id: order.body.id },
    );
    const fo = q.body.data.order.fulfillmentOrders.nodes[0];
    expect(fo.status).toBe('OPEN');
    expect(fo.assignedLocation.location.id).toBe(s.locB);
    expect(fo.lineItems.nodes.map((n: any) => [n.lineItem.sku, n.lineItem.variant.id, n.totalQuantity, n.remainingQuantity])).toEqual([
      ['SKU-1', s.items[0]!.variantId, 2, 2],
      ['SKU-2', s.items[1]!.variantId, 3, 3],
    ]);
  });

  it('refuses an order that cannot be covered (422), unless the item allows overselling', async () => {
    const short = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'SKU-1', quantity: 11 }] });
    expect(short.status).toBe(422);
    expect(short.body.error).toMatch(/not enough available stock/);
    expect(level(0, s.locA).available).toBe(10);
    const p = run.emulator.createProduct(SHOP_A, { sku: 'OVER', allowOversell: true });
    run.emulator.setQuantities(SHOP_A, p.inventoryItemId, s.locA, { available: 1 });
    const over = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'OVER', quantity: 3 }] });
    expect(over.status).toBe(201);
    expect(run.emulator.getLevel(SHOP_A, p.inventoryItemId, s.locA)).toMatchObject({ available: -2, committed: 3, on_hand: 1 });
    const bad = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'SKU-1', quantity: 0 }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('lines.0.quantity');
  });

  it('refuses a checkout as Shopify does: a tracked DENY variant with less available than the quantity, naming the line (untracked and CONTINUE variants sell)', async () => {
    // SKU-1 has 10 available at locA and 0 at locB: 10 fits exactly, 11 is refused with nothing changed.
    const short = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'SKU-2', quantity: 1 }, { sku: 'SKU-1', quantity: 11 }] });
    expect(short.status).toBe(422);
    expect(short.body).toMatchObject({ code: 'NOT_ENOUGH_IN_STOCK', lines: [{ index: 1, sku: 'SKU-1', variantId: s.items[0]!.variantId, requested: 11, available: 10 }] });
    expect(level(0, s.locA)).toMatchObject({ available: 10, committed: 0 });
    const pinned = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'SKU-1', quantity: 1 }], locationId: s.locB });
    expect(pinned.status).toBe(422);
    expect(pinned.body).toMatchObject({ code: 'NOT_ENOUGH_IN_STOCK', lines: [{ index: 0, requested: 1, available: 0 }] });
    const untracked = run.emulator.createProduct(SHOP_A, { sku: 'LOOSE', tracked: false });
    expect((await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'LOOSE', quantity: 5 }] })).status).toBe(201);
    expect(run.emulator.getLevel(SHOP_A, untracked.inventoryItemId, s.locA)).toMatchObject({ available: 0, committed: 0 });
    const exact = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'SKU-1', quantity: 10 }] });
    expect(exact.status).toBe(201);
    expect(level(0, s.locA)).toMatchObject({ available: 0, committed: 10 });
    const sold = await control(run.url, 'POST', `/shops/${SHOP_A}/orders`, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    expect(sold.body).toMatchObject({ code: 'NOT_ENOUGH_IN_STOCK', lines: [{ sku: 'SKU-1', requested: 1, available: 0 }] });
  });

  it('cancel restocks, fulfil removes committed, edit changes committed, move shifts it to another location', async () => {
    const e = run.emulator;
    const o1 = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 4 }] });
    e.cancelOrder(SHOP_A, o1.id);
    expect(level(0, s.locA)).toMatchObject({ available: 10, committed: 0, on_hand: 10 });

    const o2 = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 4 }] });
    e.fulfillOrder(SHOP_A, o2.id);
    expect(level(0, s.locA)).toMatchObject({ available: 6, committed: 0, on_hand: 6 });

    const o3 = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 2 }] });
    e.editOrder(SHOP_A, o3.id, { lines: [{ lineItemId: o3.lineItems[0]!.id, quantity: 5 }, { sku: 'SKU-2', quantity: 1 }] });
    expect(level(0, s.locA)).toMatchObject({ available: 1, committed: 5 });
    expect(level(1, s.locA)).toMatchObject({ available: 9, committed: 1 });
    e.editOrder(SHOP_A, o3.id, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    expect(level(0, s.locA)).toMatchObject({ available: 5, committed: 1 });

    e.setQuantities(SHOP_A, s.items[0]!.inventoryItemId, s.locB, { available: 4 });
    e.setQuantities(SHOP_A, s.items[1]!.inventoryItemId, s.locB, { available: 4 });
    const moved = await control(run.url, 'POST', `/shops/${SHOP_A}/fulfillment-orders/${encodeURIComponent(o3.fulfillmentOrders[0]!.id)}/move`, { newLocationId: s.locB });
    expect(moved.status).toBe(200);
    expect(level(0, s.locA)).toMatchObject({ available: 6, committed: 0 });
    expect(level(0, s.locB)).toMatchObject({ available: 3, committed: 1 });
    expect(level(1, s.locB)).toMatchObject({ available: 3, committed: 1 });
    const foStatuses = moved.body.fulfillmentOrders.map((f: { status: string; locationId: string }) => [f.status, f.locationId]);
    expect(foStatuses).toEqual([
      ['CLOSED', s.locA],
      ['OPEN', s.locB],
    ]);
    await e.drainWebhooks();
    const movedHook = hooks.received.find((r) => r.headers['x-shopify-topic'] === 'fulfillment_orders/moved')!;
    expect(movedHook.body).toMatchObject({
      original_fulfillment_order: { id: o3.fulfillmentOrders[0]!.id, status: 'closed', assigned_location_id: s.locA },
      moved_fulfillment_order: { id: moved.body.movedFulfillmentOrderId, status: 'open', assigned_location_id: s.locB },
      destination_location_id: s.locB,
    });
  });

  it('partial fulfilment: ships some units, the fulfillment order stays open with the rest; bad requests are 422', async () => {
    const e = run.emulator;
    const before = level(1, s.locA);
    const o = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-2', quantity: 3 }] });
    const lineItemId = o.lineItems[0]!.id;
    const part = await control(run.url, 'POST', `/shops/${SHOP_A}/orders/${encodeURIComponent(o.id)}/fulfill`, { lines: [{ lineItemId, quantity: 2 }] });
    expect(part.status).toBe(200);
    expect(part.body.fulfillmentOrders[0]).toMatchObject({ status: 'IN_PROGRESS', lineItems: [expect.objectContaining({ totalQuantity: 3, remainingQuantity: 1 })] });
    expect(level(1, s.locA)).toMatchObject({ available: before.available - 3, committed: before.committed + 1, on_hand: before.on_hand - 2 });
    expect(e.getOrder(SHOP_A, o.id).rest).toMatchObject({ fulfillment_status: 'partial' });
    const tooMany = await control(run.url, 'POST', `/shops/${SHOP_A}/orders/${encodeURIComponent(o.id)}/fulfill`, { lines: [{ lineItemId, quantity: 2 }] });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error).toMatch(/only 1 unit\(s\) of line item .* left to fulfil/);
    const unknown = await control(run.url, 'POST', `/shops/${SHOP_A}/orders/${encodeURIComponent(o.id)}/fulfill`, { lines: [{ lineItemId: '999', quantity: 1 }] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatch(/no line item 999/);
    e.fulfillOrder(SHOP_A, o.id);
    expect(e.getOrder(SHOP_A, o.id).fulfillmentOrders[0]).toMatchObject({ status: 'CLOSED' });
    expect(e.getOrder(SHOP_A, o.id).rest).toMatchObject({ fulfillment_status: 'fulfilled' });
    expect(level(1, s.locA)).toMatchObject({ committed: before.committed, on_hand: before.on_hand - 3 });
  });

  it('pos orders carry location_id; web orders do not; line items never carry a location', async () => {
    const web = run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    const pos = run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }], sourceName: 'pos', locationId: s.locA });
    expect(web.rest.location_id).toBeNull();
    expect(web.rest.source_name).toBe('web');
    expect(pos.rest.location_id).toBe(Number(s.locA.split('/').pop()));
    for (const li of pos.rest.line_items as Record<string, unknown>[]) {
      expect(Object.keys(li).filter((k) => /^location|_location_|location_id$/.test(k))).toEqual([]);
    }
  });
});

describe('webhooks', () => {
  it('signs orders/create with Shopify headers and a verifiable HMAC; includes customer data', async () => {
    const o = run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 2 }] });
    await run.emulator.drainWebhooks();
    expect(topics()).toEqual(['orders/create', 'inventory_levels/update']);
    const [create, levelHook] = hooks.received as [any, any];
    const expected = createHmac('sha256', 'shh-secret').update(create.raw, 'utf8').digest();
    expect(timingSafeEqual(Buffer.from(create.headers['x-shopify-hmac-sha256'], 'base64'), expected)).toBe(true);
    expect(create.headers['x-shopify-shop-domain']).toBe(SHOP_A);
    expect(create.headers['x-shopify-api-version']).toBe('2026-10');
    expect(create.headers['x-shopify-webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(create.headers['x-shopify-event-id']).toBe(levelHook.headers['x-shopify-event-id']);
    expect(create.headers['x-shopify-webhook-id']).not.toBe(levelHook.headers['x-shopify-webhook-id']);
    expect(Date.parse(create.headers['x-shopify-triggered-at'])).not.toBeNaN();
    expect(create.body).toMatchObject({ id: o.legacyId, admin_graphql_api_id: o.id, name: o.name, source_name: 'web', location_id: null, financial_status: 'paid', fulfillment_status: null });
    expect(create.body.email).toMatch(/@example\.com$/);
    expect(create.body.customer.first_name).toBeTruthy();
    expect(create.body.shipping_address.address1).toBeTruthy();
    expect(create.body.line_items[0]).toMatchObject({ sku: 'SKU-1', quantity: 2, fulfillable_quantity: 2, variant_id: Number(s.items[0]!.variantId.split('/').pop()), requires_shipping: true });
    expect(levelHook.body).toMatchObject({ available: 8, inventory_item_id: Number(s.items[0]!.inventoryItemId.split('/').pop()) });
    run.emulator.cancelOrder(SHOP_A, o.id);
    await run.emulator.drainWebhooks();
    expect(topics().slice(2)).toEqual(['orders/cancelled', 'orders/updated', 'inventory_levels/update']);
  });

  it('retries a failed delivery with the same webhook id until a 2xx', async () => {
    let createAttempts = 0;
    status = (_n, topic) => (topic === 'orders/create' && ++createAttempts <= 2 ? 500 : 200);
    run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    await run.emulator.drainWebhooks();
    const creates = hooks.received.filter((r) => r.headers['x-shopify-topic'] === 'orders/create');
    expect(creates).toHaveLength(3);
    expect(new Set(creates.map((r) => r.headers['x-shopify-webhook-id'])).size).toBe(1);
    expect(new Set(creates.map((r) => r.raw)).size).toBe(1);
    expect(run.emulator.counters(SHOP_A)).toMatchObject({ webhooksFailed: 2, webhooksSent: 2 });
  });

  it('a receiver slower than the timeout counts as a failure and is retried', async () => {
    status = (n) => (n === 1 ? 'hang' : 200);
    run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    await run.emulator.drainWebhooks();
    const ids = hooks.received.filter((r) => r.headers['x-shopify-topic'] === 'orders/create').map((r) => r.headers['x-shopify-webhook-id']);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect(run.emulator.webhookLog(SHOP_A)[0]!.status).toBe('timeout');
  });

  it('faults: duplicate delivers twice with one id; drop delivers nothing; reorder delivers later events first', async () => {
    run.emulator.setFaults(SHOP_A, { webhookDuplicate: 1 });
    run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    await run.emulator.drainWebhooks();
    const creates = hooks.received.filter((r) => r.headers['x-shopify-topic'] === 'orders/create');
    expect(creates).toHaveLength(2);
    expect(creates[0]!.headers['x-shopify-webhook-id']).toBe(creates[1]!.headers['x-shopify-webhook-id']);

    hooks.received.length = 0;
    run.emulator.setFaults(SHOP_A, { webhookDuplicate: 0, webhookDrop: 1 });
    run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    await run.emulator.drainWebhooks();
    expect(hooks.received).toHaveLength(0);
    expect(run.emulator.counters(SHOP_A).webhooksDropped).toBe(2);

    run.emulator.setFaults(SHOP_A, { webhookDrop: 0, webhookReorder: 1 });
    const o = run.emulator.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-2', quantity: 1 }] });
    run.emulator.setFaults(SHOP_A, { webhookReorder: 0 });
    run.emulator.cancelOrder(SHOP_A, o.id);
    await run.emulator.drainWebhooks();
    const order = topics().filter((t) => t !== 'inventory_levels/update');
    expect(order.indexOf('orders/cancelled')).toBeLessThan(order.indexOf('orders/create'));
  });
});
