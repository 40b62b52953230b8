import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { parseOrderWebhook } from '../../src/domain/order-webhook.js';
import { ORDER_EVENT_SIGNAL } from '../../src/domain/reservation-model.js';
import { guardKey } from '../../src/guard/version-guard.js';
import { orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const poll = { timeout: 20_000, interval: 100 };

/**
 * A Shopify order moves units from `available` to `committed` when it is placed; we hear of it only when its
 * webhook has been handled. A refresh in between (here: a POS sale) must not hand the order's units back.
 * The webhook is held back by running the rig without webhook delivery and signalling the order ourselves later.
 */
describe('a refresh while a Shopify order is not yet claimed', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, webhooks: false });
  });
  afterAll(async () => rig?.close());

  it("keeps the order's committed units out of available until its claim arrives, then drops the reading", async () => {
    const key = { sku: SKU, locationId: 'WH1' };
    await rig.activities.refreshKeys({ shopId: rig.shopId, keys: [key], trigger: 'test' });
    expect(rig.available(SKU, 'WH1')).toBe(10);

    const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 3 }] });
    expect(rig.available(SKU, 'WH1')).toBe(7);
    await recordSourceChanges(rig.svc.db, `${rig.shopId}-pos`, [{ shopId: rig.shopId, ...key, quantity: 1, occurredAt: new Date().toISOString() }]);
    await rig.activities.refreshKeys({ shopId: rig.shopId, keys: [key], trigger: 'pos-sale' });
    // 10 on hand - 1 POS - 3 committed to the unclaimed order. Without the committed reading: 9.
    expect(rig.available(SKU, 'WH1')).toBe(6);
    const { rows } = await rig.svc.db.query<{ components: { shopifyUnclaimed?: number } }>(
      `SELECT components FROM audit_log WHERE shop_id = $1 AND trigger = 'pos-sale' AND outcome = 'applied'`,
      [rig.shopId],
    );
    expect(rows.map((r) => r.components.shopifyUnclaimed)).toEqual([3]);

    // The webhook arrives: the order is claimed, and a refresh then counts it once (claim, not the reading).
    const parsed = parseOrderWebhook('orders/create', placed.rest, { deliveryId: 'create', triggeredAt: new Date().toISOString() }, (schema, value) => schema.parse(value));
    if (parsed.target !== 'order') throw new Error('orders/create parsed as a fulfillment-order event');
    await rig.svc.temporal.workflow.signalWithStart('reservationWorkflow', {
      taskQueue: rig.svc.taskQueue,
      workflowId: `reservation:${rig.shopId}:${parsed.orderId}`,
      args: [{ shopId: rig.shopId, orderId: parsed.orderId, ttlSeconds: 3600, autoReleaseEnabled: true }],
      signal: ORDER_EVENT_SIGNAL,
      signalArgs: [parsed.event],
    });
    await expect.poll(async () => (await rig.claimLines(orderIdOf(placed))).map((l) => l.claimed), poll).toEqual([3]);
    await rig.activities.refreshKeys({ shopId: rig.shopId, keys: [key], trigger: 'after-claim' });
    expect(rig.available(SKU, 'WH1')).toBe(6);
    expect(await rig.svc.redis.hget(guardKey({ shopId: rig.shopId, ...key }), 'c')).toBeNull();
  });
});
