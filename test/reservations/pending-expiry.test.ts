import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { MAX_KEYWORD_LIST_BYTES } from '../../src/domain/keyword-list.js';
import { startRig, type Rig } from './rig.js';

const SKU = 'MUG-BLUE';
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 50 };

describe('a WMS confirmation for an order that has not come (reservations.ttl_seconds = 3)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, skus: [SKU], webhooks: false, ttlSeconds: 3 });
  });
  afterAll(async () => {
    await rig?.close();
  });
  const closedAs = async (orderId: string) => (await rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId)).describe()).status.name;

  it('expires without closing the order: its events, arriving later, still claim its units', async () => {
    const orderId = rig.ext('900');
    const confirmed = await rig.postWms({
      shopId: rig.shopId, orderId: '900', channel: 'oms', allocationId: 'guess-900', occurredAt: new Date().toISOString(),
      lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }],
    });
    expect(confirmed.status).toBe(202);
    // At expiry: an alert that the order never arrived, the run ends, the reservation stays pending (not expired).
    await expect.poll(async () => (await rig.svc.db.query(`SELECT details FROM alerts WHERE shop_id = $1 AND subject = $2 AND kind = 'reservation_expired'`, [rig.shopId, orderId])).rows[0]?.details, poll)
      .toMatchObject({ orderNeverArrived: true, released: false });
    await expect.poll(() => closedAs(orderId), poll).toBe('COMPLETED');
    expect((await rig.reservation(orderId))?.state).toBe('pending');

    // The order itself: claimed in full, with an expiry of its own (before the fix it was ignored as stale).
    const placed = await rig.postOrder({ shopId: rig.shopId, orderId: '900', updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 3 }] });
    expect(placed.status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, poll).toBe(3);
    // 1 of the 3 units is the WMS's confirmation, waiting for its total.
    expect((await rig.reservation(orderId))?.state).toBe('partially_allocated');
    const stored = await rig.svc.db.query<{ expires_at: Date }>('SELECT expires_at FROM reservations WHERE shop_id = $1 AND order_id = $2', [rig.shopId, orderId]);
    expect(stored.rows[0]!.expires_at.getTime()).toBeGreaterThan(Date.now());
  });

  it('an order of many long SKUs keeps its workflow: the Sku search attribute holds what fits in 2 KB', async () => {
    const orderId = rig.ext('901');
    const lines = Array.from({ length: 120 }, (_, i) => ({ lineId: `l${i}`, sku: `SKU-${String(i).padStart(3, '0')}-${'x'.repeat(36)}`, locationId: WH, quantity: 1 }));
    const res = await rig.postWms({ shopId: rig.shopId, orderId: '901', channel: 'oms', allocationId: 'big-901', occurredAt: new Date().toISOString(), lines });
    expect(res.status).toBe(202);
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    // Temporal terminates a workflow whose upserted value passes 2 KB; this one runs to its (pending) expiry.
    await expect.poll(async () => (await handle.describe()).status.name, poll).toBe('COMPLETED');
    const upserts = ((await handle.fetchHistory()).events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes);
    const last = upserts.at(-1)!.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!.Sku!;
    const skus = JSON.parse(Buffer.from(last.data!).toString('utf8')) as string[];
    expect(Buffer.byteLength(JSON.stringify(skus), 'utf8')).toBeLessThanOrEqual(MAX_KEYWORD_LIST_BYTES);
    expect(skus.length).toBeGreaterThan(10);
    expect(skus).toEqual(lines.map((l) => l.sku).slice(0, skus.length));
  });
});
