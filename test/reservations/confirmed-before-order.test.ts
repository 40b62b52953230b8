import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { MAX_KEYWORD_LIST_BYTES } from '../../src/domain/keyword-list.js';
import { ALLOCATION_SIGNAL } from '../../src/domain/reservation-model.js';
import { signalOrder } from '../../src/temporal/handoff.js';
import { startRig, type Rig } from './rig.js';

const SKU = 'MUG-BLUE';
const WH = 'WH1';
const LONG_SKUS = Array.from({ length: 120 }, (_, i) => `SKU-${String(i).padStart(3, '0')}-${'x'.repeat(36)}`);
const poll = { timeout: 20_000, interval: 50 };

describe('a WMS confirmation for an order that has not come (reservations.ttl_seconds = 3)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, skus: [SKU, ...LONG_SKUS], webhooks: false, ttlSeconds: 3 });
  });
  afterAll(async () => {
    await rig?.close();
  });
  const handle = (orderId: string) => rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
  const waiting = async (orderId: string) =>
    (await rig.svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reservation_handoffs WHERE shop_id = $1 AND order_id = $2', [rig.shopId, orderId])).rows[0]!.n;

  it('starts no workflow; housekeeping alerts that the order never came; the order, when it comes, takes the confirmation over', async () => {
    const orderId = rig.ext('900');
    const confirmed = await rig.postWms({
      shopId: rig.shopId, orderId: '900', channel: 'oms', allocationId: 'guess-900', occurredAt: new Date().toISOString(),
      lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }],
    });
    expect(confirmed.status).toBe(202);
    // The sweeper took the hand-off and, finding no reservation, left the confirmation for the order: no workflow.
    await expect.poll(() => waiting(orderId), poll).toBe(0);
    await expect(handle(orderId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(await rig.reservation(orderId)).toBeUndefined();
    // The status route still tells what is known: pending, one unit confirmed and waiting for the WMS total.
    expect(await rig.status(orderId)).toMatchObject({ state: 'pending', source: 'database', lines: [{ sku: SKU, locationId: WH, claimed: 0, allocated: 0, awaitingWms: 1 }] });

    // A day later (aged in the table rather than waited for), the housekeeping run raises the alert the expiry
    // timer of a workflow raised before; a second run raises nothing more.
    await rig.svc.db.query(`UPDATE wms_allocations SET received_at = now() - interval '1 hour' WHERE shop_id = $1 AND order_id = $2`, [rig.shopId, orderId]);
    const housekeeping = () => rig.svc.temporal.workflow.execute('housekeepingWorkflow', { taskQueue: rig.svc.taskQueue, workflowId: `housekeeping-${rig.shopId}-${Date.now()}`, args: [] });
    await housekeeping();
    const alerts = async () => (await rig.svc.db.query(`SELECT details FROM alerts WHERE shop_id = $1 AND subject = $2 AND kind = 'reservation_expired'`, [rig.shopId, orderId])).rows;
    expect(await alerts()).toEqual([{ details: expect.objectContaining({ orderNeverArrived: true, released: false, confirmedUnits: 1 }) }]);
    await housekeeping();
    expect(await alerts()).toHaveLength(1);

    // The order itself: claimed in full with an expiry of its own; 1 of its 3 units is the WMS's confirmation,
    // waiting for its total.
    const placed = await rig.postOrder({ shopId: rig.shopId, orderId: '900', updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 3 }] });
    expect(placed.status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(3);
    expect(await rig.status(orderId)).toMatchObject({ state: 'partially_allocated', lines: [{ claimed: 3, awaitingWms: 1 }] });
    const stored = await rig.svc.db.query<{ expires_at: Date }>('SELECT expires_at FROM reservations WHERE shop_id = $1 AND order_id = $2', [rig.shopId, orderId]);
    expect(stored.rows[0]!.expires_at.getTime()).toBeGreaterThan(Date.now());

    // A confirmation now that the order is known goes to its workflow, as before.
    const second = await rig.postWms({
      shopId: rig.shopId, orderId: '900', channel: 'oms', allocationId: 'second-900', occurredAt: new Date().toISOString(),
      lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }],
    });
    expect(second.status).toBe(202);
    await expect.poll(async () => (await rig.status(orderId)).lines[0]?.awaitingWms, poll).toBe(2);
  });

  it('a workflow a confirmation started before this change still runs as it did: at expiry it alerts and stays pending, and the order claims', async () => {
    // What an older server's sweeper did: signal-with-start of the order's workflow with the confirmation.
    const orderId = rig.ext('902');
    const confirmation = { allocationId: 'old-902', source: `${rig.shopId}-wms`, occurredAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }] };
    await signalOrder({ temporal: rig.svc.temporal, taskQueue: rig.svc.taskQueue, config: rig.config }, { shopId: rig.shopId, orderId, signal: ALLOCATION_SIGNAL, payload: confirmation });
    await expect.poll(async () => (await rig.reservation(orderId))?.state, poll).toBe('pending');
    // At expiry: the alert that the order never arrived, the run ends, the reservation stays pending (not expired).
    await expect.poll(async () => (await rig.svc.db.query(`SELECT details FROM alerts WHERE shop_id = $1 AND subject = $2 AND kind = 'reservation_expired'`, [rig.shopId, orderId])).rows[0]?.details, poll)
      .toMatchObject({ orderNeverArrived: true, released: false });
    await expect.poll(async () => (await handle(orderId).describe()).status.name, poll).toBe('COMPLETED');
    expect((await rig.reservation(orderId))?.state).toBe('pending');
    // The order: claimed in full by a new run, its confirmed unit waiting for the WMS total.
    expect((await rig.postOrder({ shopId: rig.shopId, orderId: '902', updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 3 }] })).status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(3);
    expect(await rig.status(orderId)).toMatchObject({ lines: [{ claimed: 3, awaitingWms: 1 }] });
  });

  it('an order of many long SKUs keeps its workflow: the Sku search attribute holds what fits in 2 KB', async () => {
    const orderId = rig.ext('901');
    const lines = LONG_SKUS.map((sku, i) => ({ lineId: `l${i}`, sku, locationId: WH, quantity: 1 }));
    const res = await rig.postOrder({ shopId: rig.shopId, orderId: '901', updatedAt: new Date().toISOString(), lines });
    expect(res.status).toBe(202);
    const h = handle(orderId);
    // Temporal terminates a workflow whose upserted value passes 2 KB (and its expiry timer with it): this one
    // claims and lives on to its expiry, which releases the claim.
    await expect.poll(async () => (await rig.reservation(orderId))?.state, { ...poll, timeout: 60_000 }).toBe('expired');
    await expect.poll(async () => (await h.describe()).status.name, { ...poll, timeout: 60_000 }).toBe('COMPLETED');
    const upserted = async () => ((await h.fetchHistory()).events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.Sku);
    const last = (await upserted()).at(-1)!.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!.Sku!;
    const skus = JSON.parse(Buffer.from(last.data!).toString('utf8')) as string[];
    expect(Buffer.byteLength(JSON.stringify(skus), 'utf8')).toBeLessThanOrEqual(MAX_KEYWORD_LIST_BYTES);
    expect(skus.length).toBeGreaterThan(10);
    expect(skus).toEqual([...LONG_SKUS].sort().slice(0, skus.length));
  });
});
