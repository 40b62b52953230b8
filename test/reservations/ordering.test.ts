import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { signWebhook } from '../../src/shopify/emulator/index.js';
import { orderIdOf, startRig, waitFor, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const poll = { timeout: 20_000, interval: 100 };

/** Deliveries are posted by the test (the emulator shop has no webhook URL), so their order is ours to choose. */
describe('out-of-order and stale deliveries', () => {
  let rig: Rig;
  let n = 0;
  beforeAll(async () => {
    rig = await startRig({ onHand: 20, webhooks: false });
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** Posts a delivery and waits until its hand-off reached Temporal (the route answers before handing off). */
  async function deliver(topic: string, payload: unknown, webhookId = `wh-${++n}-${Date.now()}`) {
    const res = await post(topic, payload, webhookId);
    await waitFor(async () => (await rig.svc.db.query('SELECT outcome FROM webhook_deliveries WHERE webhook_id = $1', [webhookId])).rows[0]?.outcome, (o) => o === 'signalled');
    return res;
  }

  async function post(topic: string, payload: unknown, webhookId: string) {
    const body = JSON.stringify(payload);
    return fetch(`${rig.url}/webhooks/shopify`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-hmac-sha256': signWebhook(body, rig.secret),
        'x-shopify-shop-domain': rig.domain,
        'x-shopify-webhook-id': webhookId,
        'x-shopify-triggered-at': new Date().toISOString(),
      },
    });
  }

  it('cancel delivered before create: ends cancelled with nothing claimed', async () => {
    const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 2 }] });
    const created = placed.rest;
    await new Promise((r) => setTimeout(r, 5));
    rig.emu.emulator.cancelOrder(rig.domain, placed.id);
    const cancelled = rig.emu.emulator.getOrder(rig.domain, placed.id).rest;
    const orderId = orderIdOf(placed);
    expect((await deliver('orders/cancelled', cancelled)).status).toBe(200);
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('cancelled');
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    // Forced order: the first run has closed before the create arrives.
    await expect.poll(async () => (await handle.describe()).status.name, poll).toBe('COMPLETED');
    const firstRun = (await handle.describe()).runId;
    expect((await deliver('orders/create', created)).status).toBe(200);
    // The late create starts a new run; its first step (load, or claim when nothing is stored) finds the
    // cancelled row, claims nothing, and the workflow ignores the older event.
    await expect.poll(async () => (await handle.describe()).runId, poll).not.toBe(firstRun);
    await expect.poll(async () => (await handle.describe()).status.name, poll).toBe('COMPLETED');
    const result = await handle.result();
    expect(result).toMatchObject({ state: 'cancelled', staleEventsIgnored: 1 });
    expect(await rig.claimLines(orderId)).toEqual([]);
    expect((await rig.reservation(orderId))?.state).toBe('cancelled');
  });

  it('an old delivery retried after a newer one does not roll the order back', async () => {
    const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 1 }] });
    const orderId = orderIdOf(placed);
    const v1 = placed.rest;
    expect((await deliver('orders/create', v1)).status).toBe(200);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    rig.emu.emulator.cancelOrder(rig.domain, placed.id);
    expect((await deliver('orders/updated', rig.emu.emulator.getOrder(rig.domain, placed.id).rest)).status).toBe(200);
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('cancelled');
    // Shopify retries the original orders/updated (older updated_at) after the cancellation was applied.
    expect((await deliver('orders/updated', v1)).status).toBe(200);
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    await expect.poll(async () => (await handle.result()).staleEventsIgnored, poll).toBeGreaterThanOrEqual(1);
    expect((await rig.reservation(orderId))?.state).toBe('cancelled');
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 0 });
  });

  it('a WMS confirmation before the order: held, then the claim is what the WMS did not allocate yet', async () => {
    const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 3 }] });
    const orderId = orderIdOf(placed);
    const lineId = placed.lineItems[0]!.id.split('/').pop()!;
    const res = await rig.postWms({ shopId: rig.shopId, orderId, allocationId: 'early', occurredAt: new Date().toISOString(), lines: [{ lineId, sku: SKU, locationId: 'WH1', quantity: 1 }] });
    expect(res.status).toBe(202);
    expect((await deliver('orders/create', placed.rest)).status).toBe(200);
    await expect.poll(async () => (await rig.status(orderId)).state, poll).toBe('partially_allocated');
    // 3 units, 1 confirmed (awaiting the WMS total): all 3 still counted once, as claims.
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 3, allocated: 0 });
  });
});
