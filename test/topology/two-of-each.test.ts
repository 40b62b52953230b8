import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { workflowIds } from '../../src/domain/keys.js';
import { startRig, type Rig } from '../reservations/rig.js';
import { startTopology, workersOf, type Topology } from './fixtures/topology.js';

/**
 * Production's topology on one task queue: two workers and two HTTP servers, each a process of its own, behind
 * what a load balancer would do (any request to any server, a retried delivery to the other one), against the
 * run's Temporal server: the one on PostgreSQL with SQL visibility under `npm run test:topology`.
 */
const WH = 'WH1';
const BUDGET_SKUS = Array.from({ length: 60 }, (_, i) => `BUDGET-${i}`);
const ORDER_SKUS = Array.from({ length: 8 }, (_, i) => `TOPO-${i}`);
const poll = { timeout: 90_000, interval: 250 };

describe('two workers and two HTTP servers on one task queue', () => {
  let rig: Rig;
  let topo: Topology;
  beforeAll(async () => {
    // A Standard shop: 2000 points, 100 restored per second (the emulator keeps Shopify's plan figures).
    rig = await startRig({ plan: 'standard', onHand: 100, skus: [...BUDGET_SKUS, ...ORDER_SKUS], webhooks: false, worker: false });
    topo = await startTopology(rig, { workers: 2, servers: 2 });
  });
  afterAll(async () => {
    await topo?.close();
    await rig?.close();
  });

  it('the run is on the Temporal server this suite names', () => {
    expect(inject('temporalPersistence')).toBe('postgres');
  });

  it("a Standard shop driven past its bucket by both workers gets 0 THROTTLED answers: the budget is one, in Redis", { timeout: 180_000 }, async () => {
    // Nothing has called this shop yet; Shopify's bucket holds 20 points of 2000. 60 writes of >= 10 points each
    // cannot go through without both workers pacing at the restore rate.
    const initialBucket = 20;
    rig.emu.emulator.setBucket(rig.domain, initialBucket);
    await recordSourceChanges(rig.svc.db, `${rig.shopId}-erp`, BUDGET_SKUS.map((sku) => ({ shopId: rig.shopId, sku, locationId: WH, quantity: 90, occurredAt: new Date().toISOString() })));
    const runs = await Promise.all(
      BUDGET_SKUS.map((sku) =>
        rig.svc.temporal.workflow.start('refreshWorkflow', {
          taskQueue: rig.svc.taskQueue,
          workflowId: `budget-${sku}-${randomUUID().slice(0, 8)}`,
          args: [{ shopId: rig.shopId, keys: [{ sku, locationId: WH }], trigger: 'topology_test' }],
        }),
      ),
    );
    await Promise.all(runs.map((r) => r.result()));

    expect(BUDGET_SKUS.map((sku) => rig.available(sku, WH))).toEqual(BUDGET_SKUS.map(() => 90));
    const counters = rig.emu.emulator.counters(rig.domain);
    expect(counters.throttled).toBe(0);
    // Driven at its bound: the shop spent its bucket many times over (the rest came at the restore rate).
    expect(counters.costSpent).toBeGreaterThanOrEqual(30 * initialBucket);
    // Both processes wrote to this shop.
    const pids = new Set<string>();
    for (const r of runs) for (const pid of await workersOf(rig, r.workflowId)) pids.add(pid);
    expect(pids).toEqual(new Set(topo.workers.map((w) => String(w.child.pid))));
  });

  it('orders and source events on either server, each delivered to both: every unit is counted once and Shopify ends at ATS', { timeout: 180_000 }, async () => {
    const before = rig.emu.emulator.counters(rig.domain).throttled;
    const orders = Array.from({ length: 24 }, (_, i) => ({ sku: ORDER_SKUS[i % ORDER_SKUS.length]!, quantity: 1 + (i % 3) }));
    const placed = orders.map((o) => rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: o.sku, quantity: o.quantity }] }));
    // Each delivery reaches both servers at once (Shopify retrying a delivery whose answer it did not see, the
    // retry routed to the other server); the source's events too.
    const answers = await Promise.all(
      placed.flatMap((p, i) => {
        const webhookId = randomUUID();
        return [topo.postWebhook(i % 2, 'orders/create', p.rest, webhookId), topo.postWebhook((i + 1) % 2, 'orders/create', p.rest, webhookId)];
      }),
    );
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    const erpTotals = ORDER_SKUS.map((sku, j) => ({ shopId: rig.shopId, sku, locationId: WH, quantity: 100 + 5 * j, occurredAt: new Date().toISOString(), eventId: `topo-erp-${j}` }));
    const sourceAnswers = await Promise.all([0, 1].map((server) => topo.postSourceEvents(server, `${rig.shopId}-erp`, rig.erpToken, erpTotals)));
    expect(sourceAnswers.map((r) => r.status)).toEqual([202, 202]);

    const orderIds = placed.map((p) => p.id.split('/').pop()!);
    const claimed = async () =>
      (await rig.svc.db.query<{ order_id: string; claimed: number }>('SELECT order_id, sum(claimed)::int AS claimed FROM claim_lines WHERE shop_id = $1 AND order_id = ANY($2::text[]) GROUP BY order_id', [rig.shopId, orderIds])).rows;
    await expect.poll(async () => (await claimed()).length, poll).toBe(orders.length);
    // Each order's units once: not twice for its two deliveries, not twice for its two workers.
    const byOrder = new Map((await claimed()).map((r) => [r.order_id, r.claimed]));
    expect(orderIds.map((id) => byOrder.get(id))).toEqual(orders.map((o) => o.quantity));
    // One recorded delivery per webhook id, handed to Temporal.
    await expect
      .poll(async () => (await rig.svc.db.query(`SELECT outcome, count(*)::int AS n FROM webhook_deliveries WHERE shop_domain = $1 GROUP BY outcome`, [rig.domain])).rows, poll)
      .toEqual([{ outcome: 'signalled', n: orders.length }]);
    // Each source event recorded once, though both servers received it.
    const { rows: events } = await rig.svc.db.query(`SELECT count(*)::int AS n FROM source_changes WHERE source = $1 AND external_id LIKE 'topo-erp-%'`, [`${rig.shopId}-erp`]);
    expect(events).toEqual([{ n: ORDER_SKUS.length }]);

    // Shopify ends at ATS for every SKU: ERP total minus the claims.
    const units = (sku: string) => orders.filter((o) => o.sku === sku).reduce((n, o) => n + o.quantity, 0);
    const expected = ORDER_SKUS.map((sku, j) => 100 + 5 * j - units(sku));
    await expect.poll(() => ORDER_SKUS.map((sku) => rig.available(sku, WH)), poll).toEqual(expected);
    expect(await Promise.all(ORDER_SKUS.map((sku) => rig.ats(sku, WH)))).toEqual(expected);
    const counters = rig.emu.emulator.counters(rig.domain);
    expect(Object.values(counters.mutationsAppliedByKey).every((n) => n === 1)).toBe(true);
    expect(counters.throttled - before).toBe(0);

    // One reservation workflow per order, found through SQL visibility by our search attribute.
    await expect
      .poll(async () => (await rig.svc.temporal.workflow.count(`ShopId = '${rig.shopId}' AND WorkflowType = 'reservationWorkflow'`)).count, poll)
      .toBe(orders.length);
    // Each delivery reached Temporal once (one signal per order), though two servers received it.
    const signals = await Promise.all(
      orderIds.map(async (id) => {
        const history = await rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, id)).fetchHistory();
        return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
      }),
    );
    expect(signals).toEqual(orderIds.map(() => 1));
    // Both workers took part in the orders' workflows.
    const pids = new Set<string>();
    for (const id of orderIds) for (const pid of await workersOf(rig, workflowIds.reservation(rig.shopId, id))) pids.add(pid);
    expect(pids).toEqual(new Set(topo.workers.map((w) => String(w.child.pid))));
  });
});
