import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { ORDER_EVENT_SIGNAL, type OrderEvent, type ReservationStatus } from '../../src/domain/reservation-model.js';
import { startShopifyReservation, updateUntilContinued } from './fixtures/shopify-order.js';
import { startRig, type Rig } from './rig.js';

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
    const { orderId, created, handle } = await startShopifyReservation(rig.svc.temporal, rig.emu.emulator, {
      shopId: rig.shopId, domain: rig.domain, taskQueue: rig.svc.taskQueue, sku: SKU, quantity: 3, workflowId: (id) => workflowIds.reservation(rig.shopId, id),
    });
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(3);
    const before = await handle.query<ReservationStatus>('status');

    // One stale delivery (older than the create), then updates until the history is long enough.
    await handle.signal(ORDER_EVENT_SIGNAL, { ...created, kind: 'updated', at: new Date(Date.parse(created.at) - 60_000).toISOString(), deliveryId: 'stale' } satisfies OrderEvent);
    const { firstRun, sent, at } = await updateUntilContinued(handle, created);
    const runId = async () => (await handle.describe()).runId;

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
