import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { ORDER_EVENT_SIGNAL, STATUS_QUERY, type OrderEvent, type ReservationStatus } from '../../src/domain/reservation-model.js';
import { signWebhook } from '../../src/shopify/emulator/index.js';
import { orderIdOf, startRig, waitFor, type Rig } from '../reservations/rig.js';

const SKUS = ['ATK-1', 'ATK-2', 'ATK-3', 'ATK-4', 'ATK-5', 'ATK-6'];
const SKU = SKUS[0]!;
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

/**
 * The two oversell attacks of issue 10: a caller with a source token, or with one signed webhook body, released
 * a Shopify order's claim while Shopify still held its units as committed, so they could be sold twice.
 */
describe('oversell attacks', () => {
  let rig: Rig;
  let n = 0;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, skus: SKUS, webhooks: false });
  });
  afterAll(async () => {
    await rig?.close();
  });

  const sendWebhook = (topic: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    return fetch(`${rig.url}/webhooks/shopify`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-hmac-sha256': signWebhook(body, rig.secret),
        'x-shopify-shop-domain': rig.domain,
        'x-shopify-webhook-id': `attack-${++n}-${Date.now()}`,
        'x-shopify-triggered-at': new Date().toISOString(),
      },
    });
  };

  /** A storefront order of 3 units whose reservation holds them as a claim (ATS 10 - 3). */
  async function claimedShopifyOrder(sku: string): Promise<{ orderId: string; rest: unknown }> {
    const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku, quantity: 3 }] });
    const orderId = orderIdOf(placed);
    expect((await sendWebhook('orders/create', placed.rest)).status).toBe(200);
    await waitFor(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, (c) => c === 3);
    return { orderId, rest: placed.rest };
  }

  it('a source token cannot post orders: a POS/ERP token cancelling a Shopify order is refused and the claim stays', async () => {
    const { orderId } = await claimedShopifyOrder(SKUS[0]!);
    const later = new Date(Date.now() + 60_000).toISOString();
    for (const token of [rig.erpToken, rig.wmsToken]) {
      const res = await rig.postOrder({ shopId: rig.shopId, orderId, status: 'cancelled', updatedAt: later, lines: [] }, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ code: 'ISYNC_UNAUTHORIZED', message: 'a valid bearer token for this route is required' });
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await rig.reservation(orderId)).toMatchObject({ state: 'claimed', origin: 'shopify' });
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 3 });
    expect(await rig.ats(SKU, WH)).toBe(7);
  });

  it('a channel naming a Shopify order id reaches only its own order: the Shopify order keeps its claim', async () => {
    const { orderId } = await claimedShopifyOrder(SKUS[1]!);
    const res = await rig.postOrder({ shopId: rig.shopId, orderId, status: 'cancelled', updatedAt: new Date(Date.now() + 60_000).toISOString(), lines: [] });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { orderId: string; workflowId: string };
    expect(body.orderId).toBe(rig.ext(orderId));
    expect(body.workflowId).not.toBe(workflowIds.reservation(rig.shopId, orderId));
    await expect.poll(async () => (await rig.reservation(rig.ext(orderId)))?.state, poll).toBe('cancelled');
    expect(await rig.reservation(orderId)).toMatchObject({ state: 'claimed', origin: 'shopify' });
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 3 });
  });

  it('an absurd quantity is refused naming the field (1,000,000,000 units drove ATS to 0)', async () => {
    const res = await rig.postOrder({ shopId: rig.shopId, orderId: 'huge-1', updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1_000_000_000 }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field: 'lines.0.quantity' } });
    expect(await rig.reservation(rig.ext('huge-1'))).toBeUndefined();
  });

  it('a signed orders/create body re-sent as orders/fulfilled is refused (422), counted, and releases nothing', async () => {
    const { orderId, rest } = await claimedShopifyOrder(SKUS[2]!);
    for (const topic of ['orders/fulfilled', 'orders/cancelled']) {
      const res = await sendWebhook(topic, rest);
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ code: 'ISYNC_WEBHOOK_TOPIC_MISMATCH' });
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await rig.reservation(orderId)).toMatchObject({ state: 'claimed' });
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 3 });
    const metrics = await fetch(`${rig.url}/metrics`, { headers: { authorization: `Bearer ${rig.operatorToken}` } });
    expect(await metrics.text()).toContain('isync_webhooks_total{topic="orders/fulfilled",outcome="topic_mismatch"} 1');
  });

  it('a genuine cancellation still cancels: the payload says so whatever the topic', async () => {
    const { orderId } = await claimedShopifyOrder(SKUS[3]!);
    await new Promise((r) => setTimeout(r, 5));
    rig.emu.emulator.cancelOrder(rig.domain, `gid://shopify/Order/${orderId}`);
    expect((await sendWebhook('orders/updated', rig.emu.emulator.getOrder(rig.domain, `gid://shopify/Order/${orderId}`).rest)).status).toBe(200);
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('cancelled');
  });

  it('an event whose origin is not the reservation\'s is refused and counted by the workflow', async () => {
    const { orderId } = await claimedShopifyOrder(SKUS[4]!);
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    const foreign: OrderEvent = { kind: 'cancelled', origin: 'external', at: new Date(Date.now() + 60_000).toISOString(), deliveryId: 'forged' };
    await handle.signal(ORDER_EVENT_SIGNAL, foreign);
    await expect.poll(async () => (await handle.query<ReservationStatus>(STATUS_QUERY)).foreignEventsRefused, poll).toBe(1);
    expect(await handle.query<ReservationStatus>(STATUS_QUERY)).toMatchObject({ state: 'claimed', origin: 'shopify' });
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 3 });
  });

  it('a channel\'s order the WMS confirmed before it arrived is claimed when it comes, and refuses no event of its own', async () => {
    const sku = SKUS[5]!;
    const wfId = workflowIds.reservation(rig.shopId, rig.ext('early-1'));
    const allocation = { shopId: rig.shopId, orderId: 'early-1', channel: 'oms', allocationId: 'early', occurredAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku, locationId: WH, quantity: 1 }] };
    expect((await rig.postWms(allocation)).status).toBe(202);
    // The confirmation waits for its order in wms_allocations: no workflow, no reservation to take an origin from.
    await expect.poll(async () => (await rig.svc.db.query('SELECT 1 FROM reservation_handoffs WHERE shop_id = $1 AND order_id = $2', [rig.shopId, rig.ext('early-1')])).rowCount, poll).toBe(0);
    await expect(rig.svc.temporal.workflow.getHandle(wfId).describe()).rejects.toThrow();
    expect(await rig.reservation(rig.ext('early-1'))).toBeUndefined();
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'early-1', updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku, locationId: WH, quantity: 2 }] })).status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(rig.ext('early-1')))[0]?.claimed ?? 0, poll).toBe(2);
    expect(await rig.reservation(rig.ext('early-1'))).toMatchObject({ origin: 'external' });
    expect((await rig.status(rig.ext('early-1'))).foreignEventsRefused).toBeUndefined();
  });
});
