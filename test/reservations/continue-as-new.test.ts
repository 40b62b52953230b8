import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { parseOrderWebhook } from '../../src/domain/order-webhook.js';
import { ORDER_EVENT_SIGNAL, type OrderEvent, type ReservationStatus } from '../../src/domain/reservation-model.js';
import { orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const poll = { timeout: 30_000, interval: 100 };

/**
 * The test server suggests continue-as-new at 200 history events (test/support/global-setup.ts). An order that
 * receives many updates crosses it: the next run must carry on with the same claims, expiry and counters.
 */
describe('a long-lived reservation continues as new', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 20, webhooks: false });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('after many updates: a fresh run with the same claims, expiry and stale count; then a cancel still releases', async () => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity: 3 }] });
    const orderId = orderIdOf(order);
    const parsed = parseOrderWebhook('orders/create', order.rest, { deliveryId: 'd0', triggeredAt: new Date().toISOString() }, (schema, value) => schema.parse(value));
    if (parsed.target !== 'order') throw new Error('orders/create parsed as a fulfillment-order event');
    const created = parsed.event;
    const handle = await rig.svc.temporal.workflow.signalWithStart('reservationWorkflow', {
      taskQueue: rig.svc.taskQueue,
      workflowId: workflowIds.reservation(rig.shopId, orderId),
      args: [{ shopId: rig.shopId, orderId, ttlSeconds: 3600, autoReleaseEnabled: true }],
      signal: ORDER_EVENT_SIGNAL,
      signalArgs: [created],
    });
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(3);
    const firstRun = handle.signaledRunId;
    const before = await handle.query<ReservationStatus>('status');

    // One stale delivery (older than the create), then updates until the history is long enough.
    const at = (ms: number) => new Date(Date.parse(created.at) + ms).toISOString();
    await handle.signal(ORDER_EVENT_SIGNAL, { ...created, kind: 'updated', at: at(-60_000), deliveryId: 'stale' } satisfies OrderEvent);
    let sent = 0;
    const runId = async () => (await handle.describe()).runId;
    while ((await runId()) === firstRun && sent < 120) {
      sent++;
      await handle.signal(ORDER_EVENT_SIGNAL, { ...created, kind: 'updated', at: at(sent * 1000), deliveryId: `u${sent}` } satisfies OrderEvent);
      if (sent % 10 === 0) await expect.poll(async () => (await handle.query<ReservationStatus>('status')).lastEventAt, poll).toBe(at(sent * 1000));
    }
    await expect.poll(runId, poll).not.toBe(firstRun);

    const first = await rig.svc.temporal.workflow.getHandle(handle.workflowId, firstRun).fetchHistory();
    expect(first.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId).toBe(await runId());
    const after = await handle.query<ReservationStatus>('status');
    expect(after).toMatchObject({ state: 'claimed', origin: 'shopify', expiresAt: before.expiresAt, staleEventsIgnored: 1 });
    expect(after.lines).toEqual([expect.objectContaining({ sku: SKU, claimed: 3, allocated: 0 })]);
    expect((await rig.claimLines(orderId)).map((l) => l.claimed)).toEqual([3]);

    await handle.signal(ORDER_EVENT_SIGNAL, { ...created, kind: 'cancelled', at: at((sent + 1) * 1000), deliveryId: 'cancel' } satisfies OrderEvent);
    const result = (await rig.svc.temporal.workflow.getHandle(handle.workflowId).result()) as ReservationStatus;
    expect(result).toMatchObject({ state: 'cancelled', staleEventsIgnored: 1 });
    expect((await rig.claimLines(orderId)).map((l) => l.claimed)).toEqual([0]);
  });
});
