import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { workflowIds } from '../../src/domain/keys.js';
import { ALLOCATION_SIGNAL } from '../../src/domain/reservation-model.js';
import { signalOrder } from '../../src/temporal/handoff.js';
import { lineIdOf, orderIdOf, startRig, type Rig } from './rig.js';

const SKU = 'TEE-RED-M';
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The activity types of a history's local-activity markers, in order (the SDK keeps them as JSON in `data`). */
function localActivities(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_local_activity') return [];
    const data = m.details?.data?.payloads?.[0]?.data;
    if (!data) return [];
    return [(JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type];
  });
}

/**
 * A known order's WMS confirmation is converted by the sweeper's confirmation lane, which queues its keys' refresh
 * in the transaction that marks it converted (src/starters/http/confirmations.ts). The signal that follows only
 * brings the workflow's view up to date: the workflow's own conversion finds nothing to convert and must not hand
 * the same keys to the refresh a second time (each hand-off is a refresh and a Shopify write per key).
 */
describe("a confirmation the lane converted is not refreshed again by its workflow", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 20 });
  });
  afterAll(async () => {
    await rig?.close();
  });

  const placed = async (quantity: number) => {
    const order = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: SKU, quantity }] });
    const orderId = orderIdOf(order);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(quantity);
    return { orderId, lineId: lineIdOf(order) };
  };
  /** What the workflow did from its first allocation signal on. */
  const afterAllocation = async (orderId: string) => {
    const history = await rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId)).fetchHistory();
    const events = history.events ?? [];
    const at = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === ALLOCATION_SIGNAL);
    if (at < 0) return { events: [], input: null };
    return { events: events.slice(at), input: events[at]!.workflowExecutionSignaledEventAttributes!.input };
  };

  it('through POST /wms/allocations: the lane queues the refresh once, the workflow converts nothing and queues none', async () => {
    const { orderId, lineId } = await placed(2);
    const res = await rig.postWms({ shopId: rig.shopId, orderId, allocationId: 'alloc-lane', occurredAt: new Date().toISOString(), lines: [{ lineId, sku: SKU, locationId: WH, quantity: 2 }] });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await rig.status(orderId)).state, poll).toBe('allocated');
    // The lane's refresh reached Shopify (ATS is unchanged by a confirmation, so Shopify still equals it).
    await expect.poll(async () => (await rig.svc.db.query(`SELECT 1 FROM audit_log WHERE shop_id = $1 AND trigger LIKE '%wms_allocation%'`, [rig.shopId])).rowCount, poll).toBeGreaterThan(0);
    expect(rig.available(SKU, WH)).toBe(await rig.ats(SKU, WH));

    // Local activities' markers are written when the workflow task that ran them completes, together.
    await expect.poll(async () => localActivities((await afterAllocation(orderId)).events), poll).toContain('convertAllocation');
    const { events, input } = await afterAllocation(orderId);
    const payload = JSON.parse(Buffer.from(input!.payloads![0]!.data!).toString('utf8')) as Record<string, unknown>;
    expect(payload).toMatchObject({ allocationId: 'alloc-lane', refreshQueued: true });
    // The workflow's conversion ran (its view is 'allocated'), and no markDirty followed it.
    expect(localActivities(events)).toEqual(['convertAllocation']);
  });

  it('a confirmation signalled without the lane (left to its workflow) is still handed to the refresh by the workflow', async () => {
    const { orderId, lineId } = await placed(1);
    await signalOrder({ temporal: rig.svc.temporal, taskQueue: rig.svc.taskQueue, config: rig.config }, {
      shopId: rig.shopId, orderId, signal: ALLOCATION_SIGNAL,
      payload: { allocationId: 'alloc-direct', source: `${rig.shopId}-wms`, occurredAt: new Date().toISOString(), lines: [{ lineId, sku: SKU, locationId: WH, quantity: 1 }] },
    });
    await expect.poll(async () => localActivities((await afterAllocation(orderId)).events), poll).toEqual(['convertAllocation', 'markDirty']);
  });
});
