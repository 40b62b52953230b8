import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { orderIdOf, startRig, waitFor, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const poll = { timeout: 45_000, interval: 200 };

/** Every payload in a history decoded to text, so a search sees what Temporal stored. */
function historyText(value: unknown, out: string[] = []): string[] {
  if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const v of value) historyText(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) historyText(v, out);
  else if (typeof value === 'string') out.push(value);
  return out;
}

describe('reservation histories', () => {
  let rig: Rig;
  const orders: { orderId: string; rest: Record<string, unknown> }[] = [];
  beforeAll(async () => {
    rig = await startRig({ onHand: 20 });
    for (let i = 0; i < 3; i++) {
      const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 1 + i }] });
      orders.push({ orderId: orderIdOf(placed), rest: placed.rest });
    }
    rig.emu.emulator.editOrder(rig.domain, orders[0]!.orderId, { lines: [{ sku: SKU, quantity: 4 }] });
    rig.emu.emulator.cancelOrder(rig.domain, orders[1]!.orderId);
    rig.emu.emulator.fulfillOrder(rig.domain, orders[2]!.orderId);
    await rig.emu.emulator.drainWebhooks();
    await waitFor(async () => (await rig.reservation(orders[1]!.orderId))?.state, (s) => s === 'cancelled');
    await waitFor(async () => (await rig.reservation(orders[2]!.orderId))?.state, (s) => s === 'fulfilled');
    await waitFor(async () => (await rig.claimLines(orders[0]!.orderId))[0]?.claimed, (c) => c === 4);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('hold no customer personal data (emails, names, phones, addresses from the emulator)', async () => {
    const { rows } = await rig.svc.db.query<{ workflow_id: string }>('SELECT workflow_id FROM reservations WHERE shop_id = $1', [rig.shopId]);
    expect(rows).toHaveLength(3);
    for (const { workflow_id } of rows) {
      const text = historyText(await rig.svc.temporal.workflow.getHandle(workflow_id).fetchHistory()).join('\n');
      expect(text).toContain(SKU);
      for (const o of orders) {
        const customer = o.rest.customer as { email: string; first_name: string; last_name: string; phone: string };
        const address = o.rest.shipping_address as { address1: string; name: string; zip: string };
        for (const pii of [customer.email, customer.last_name, customer.phone, address.address1, address.name, o.rest.browser_ip as string]) {
          expect(text, `${workflow_id} must not contain ${pii}`).not.toContain(pii);
        }
      }
      expect(text).not.toMatch(/@example\.com|Example Street|Springfield/);
    }
  });

  it('are found by an operator through search attributes (ShopId, OrderId, Sku, ReservationState)', async () => {
    const find = async (query: string) => {
      const ids: string[] = [];
      for await (const wf of rig.svc.temporal.workflow.list({ query })) ids.push(wf.workflowId);
      // A late delivery after the close starts a second run of the same id: one order, one id.
      return [...new Set(ids)];
    };
    const cancelled = `reservation:${rig.shopId}:${orders[1]!.orderId}`;
    await expect.poll(() => find(`ShopId = '${rig.shopId}' AND ReservationState = 'cancelled'`), poll).toEqual([cancelled]);
    await expect.poll(() => find(`ShopId = '${rig.shopId}' AND OrderId = '${orders[0]!.orderId}' AND Sku = '${SKU}' AND ReservationState = 'claimed'`), poll).toEqual([
      `reservation:${rig.shopId}:${orders[0]!.orderId}`,
    ]);
  });

  // Not a determinism guard: the history was recorded by this same code a moment earlier, so it cannot catch a
  // change between versions. It checks that a live execution's history, fetched from Temporal, goes through the
  // replay path end to end. The guard across versions is test/replay/replay.test.ts (recorded histories).
  it('a live execution\'s history, fetched from Temporal, replays against the workflow bundle (the recorded-history path end to end)', async () => {
    const handle = rig.svc.temporal.workflow.getHandle(`reservation:${rig.shopId}:${orders[1]!.orderId}`);
    await expect.poll(async () => (await handle.describe()).status.name, poll).toBe('COMPLETED');
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, handle.workflowId);
  });
});
