import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { workflowIds } from '../../src/domain/keys.js';
import { lineIdOf, orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

describe('reservation lifecycle through the emulator and its signed webhooks', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 20 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  async function placed(quantity: number) {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity }] });
    const orderId = orderIdOf(order);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(quantity);
    return { order, orderId, lineId: lineIdOf(order) };
  }

  /** The claim reached Shopify through the shop's refresh: Shopify's available equals ATS again. */
  async function settled() {
    await rig.emu.emulator.drainWebhooks();
    await expect.poll(async () => rig.available(SKU, WH) === (await rig.ats(SKU, WH)), poll).toBe(true);
  }

  it('claims a placed Shopify order once, without adjusting Shopify again (available stays = ATS)', async () => {
    const { orderId } = await placed(3);
    // Shopify moved 3 to committed by itself: 20 -> 17; ATS = 20 - 3 claimed = 17.
    await settled();
    expect(rig.available(SKU, WH)).toBe(17);
    expect(await rig.ats(SKU, WH)).toBe(17);
    const audit = async () => (await rig.svc.db.query(`SELECT ats, previous_shopify, outcome FROM audit_log WHERE shop_id = $1 AND trigger LIKE '%claim%'`, [rig.shopId])).rows;
    await expect.poll(async () => (await audit()).length, poll).toBeGreaterThan(0);
    const rows = await audit();
    expect(rows.every((r) => r.ats === 17 && r.previous_shopify === 17)).toBe(true);
    // Nothing took the units off Shopify a second time: on_hand is intact, the 3 sit in committed only.
    const ids = rig.catalog.ids.get(`${SKU}|${WH}`)!;
    expect(rig.emu.emulator.getLevel(rig.domain, ids.inventoryItemId, ids.locationId)).toMatchObject({ available: 17, committed: 3, on_hand: 20 });
    const status = await rig.status(orderId);
    expect(status).toMatchObject({ state: 'claimed', origin: 'shopify', source: 'workflow' });
    expect(status.lines).toEqual([expect.objectContaining({ sku: SKU, locationId: WH, claimed: 3, allocated: 0 })]);
  });

  it('converts the claim when the WMS confirms, and later when its total shows the units: available unchanged', async () => {
    const { orderId, lineId } = await placed(2);
    await settled();
    const availableBefore = rig.available(SKU, WH);
    const countedBefore = await rig.counted(SKU, WH);
    const res = await rig.postWms({ shopId: rig.shopId, orderId, allocationId: 'alloc-1', occurredAt: new Date().toISOString(), lines: [{ lineId, sku: SKU, locationId: WH, quantity: 2 }] });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await rig.status(orderId)).state, poll).toBe('allocated');
    // Confirmed but the WMS total does not show the units yet: still counted (once) as a claim.
    expect(await rig.counted(SKU, WH)).toEqual(countedBefore);
    // The WMS reports its allocated total including them: the claim converts in that same transaction.
    await recordSourceChanges(rig.svc.db, `${rig.shopId}-wms`, [{ shopId: rig.shopId, sku: SKU, locationId: WH, quantity: 2, occurredAt: new Date(Date.now() + 1000).toISOString() }]);
    const lines = await rig.claimLines(orderId);
    expect(lines).toEqual([expect.objectContaining({ claimed: 0, allocated: 2 })]);
    expect(await rig.counted(SKU, WH)).toEqual({ openClaims: countedBefore.openClaims - 2, wmsAllocated: countedBefore.wmsAllocated + 2 });
    expect(await rig.ats(SKU, WH)).toBe(availableBefore);
    expect(rig.available(SKU, WH)).toBe(availableBefore);
    // The same confirmation again converts nothing twice.
    const again = await rig.postWms({ shopId: rig.shopId, orderId, allocationId: 'alloc-1', occurredAt: new Date().toISOString(), lines: [{ lineId, sku: SKU, locationId: WH, quantity: 2 }] });
    expect(again.status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(await rig.claimLines(orderId)).toEqual([expect.objectContaining({ claimed: 0, allocated: 2 })]);
  });

  it('releases the claim when the order is cancelled', async () => {
    const { orderId } = await placed(4);
    await settled();
    const atsWithClaim = await rig.ats(SKU, WH);
    rig.emu.emulator.cancelOrder(rig.domain, orderId);
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('cancelled');
    expect((await rig.claimLines(orderId))[0]).toMatchObject({ claimed: 0 });
    await settled();
    expect(await rig.ats(SKU, WH)).toBe(atsWithClaim + 4);
    expect(rig.available(SKU, WH)).toBe(atsWithClaim + 4);
    // Once the workflow has closed, the status comes from the database row.
    await expect.poll(async () => (await rig.status(orderId)).source, poll).toBe('database');
    expect(await rig.status(orderId)).toMatchObject({ state: 'cancelled', lines: [expect.objectContaining({ claimed: 0 })] });
  });

  it('delivers the same webhook three times: one workflow, one claim', async () => {
    const { order, orderId } = await placed(1);
    await rig.emu.emulator.drainWebhooks();
    const create = rig.emu.emulator.webhookLog(rig.domain).find((d) => d.topic === 'orders/create' && d.status === 200 && d.webhookId)!;
    // Re-send the exact delivery (same id, same body, same signature) twice more.
    const body = JSON.stringify(rig.emu.emulator.getOrder(rig.domain, order.id).rest);
    const { signWebhook } = await import('../../src/shopify/emulator/index.js');
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${rig.url}/webhooks/shopify`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-hmac-sha256': signWebhook(body, rig.secret),
          'x-shopify-shop-domain': rig.domain,
          'x-shopify-webhook-id': create.webhookId,
        },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'duplicate' });
    }
    expect(await rig.claimLines(orderId)).toEqual([expect.objectContaining({ claimed: 1 })]);
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    const history = await handle.fetchHistory();
    const signals = history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes);
    expect(signals).toHaveLength(1);
  });
});
