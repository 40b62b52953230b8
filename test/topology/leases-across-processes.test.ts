import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { startRig, type Rig } from '../reservations/rig.js';
import { startTopology, workersOf, type Topology } from './fixtures/topology.js';

/**
 * The write lease is in Redis, so it binds computations in different worker processes: a newer computation on
 * worker B waits while an older one on worker A sits between its guard check and its Shopify write, then writes
 * after it. Forced: A stops at its `beforeShopifyWrite` race point until the test signals it.
 */
const SKU = 'LEASE-X';
const WH = 'WH1';

describe('write leases across worker processes', () => {
  let rig: Rig;
  let topo: Topology;
  beforeAll(async () => {
    rig = await startRig({ onHand: 10, skus: [SKU], webhooks: false, worker: false });
    topo = await startTopology(rig, { workers: 0, servers: 0 });
  });
  afterAll(async () => {
    await topo?.close();
    await rig?.close();
  });

  const setErp = (quantity: number) => recordSourceChanges(rig.svc.db, `${rig.shopId}-erp`, [{ shopId: rig.shopId, sku: SKU, locationId: WH, quantity, occurredAt: new Date().toISOString() }]);
  const refresh = () =>
    rig.svc.temporal.workflow.start('refreshWorkflow', {
      taskQueue: rig.svc.taskQueue,
      workflowId: `lease-${randomUUID().slice(0, 8)}`,
      args: [{ shopId: rig.shopId, keys: [{ sku: SKU, locationId: WH }], trigger: 'topology_test' }],
    });

  it("a computation on worker B waits for worker A's lease on the key, and writes after A", { timeout: 120_000 }, async () => {
    // A runs one activity at a time, so while it holds the stalled one, B takes the next.
    const a = await topo.addWorker({
      stallBeforeShopifyWrite: true,
      config: { ...rig.config, inventory_sync: { ...rig.config.inventory_sync, worker: { ...rig.config.inventory_sync.worker, max_concurrent_activities: 1 } } },
    });
    await setErp(14);
    const first = await refresh();
    await a.printed('race-point:beforeShopifyWrite ');
    const versionA = /race-point:beforeShopifyWrite (\d+)/.exec(a.output())![1]!;

    const b = await topo.addWorker();
    await setErp(17);
    const second = await refresh();
    await b.printed('race-point:whileKeyBusy ');
    const [, versionB, holder] = /race-point:whileKeyBusy (\d+) (\d+)/.exec(b.output())!;
    // B's newer computation waits on A's version, across processes, and nothing has reached Shopify.
    expect(holder).toBe(versionA);
    expect(BigInt(versionB!)).toBeGreaterThan(BigInt(versionA));
    expect(rig.available(SKU, WH)).toBe(10);
    expect((await second.describe()).status.name).toBe('RUNNING');

    a.child.kill('SIGUSR1');
    await Promise.all([first.result(), second.result()]);
    expect(rig.available(SKU, WH)).toBe(17);
    const { rows } = await rig.svc.db.query<{ version: string; ats: number; outcome: string }>(
      `SELECT version::text, ats, outcome FROM audit_log WHERE shop_id = $1 AND sku = $2 AND trigger = 'topology_test' ORDER BY id`,
      [rig.shopId, SKU],
    );
    // A's write went first; then B's computation, whose compare (read before A wrote) may be stale once and be
    // recomputed under a newer version; it ends applied with 17.
    expect(rows[0]).toEqual({ version: versionA, ats: 14, outcome: 'applied' });
    expect(rows.at(-1)).toMatchObject({ ats: 17, outcome: 'applied' });
    expect(BigInt(rows.at(-1)!.version)).toBeGreaterThanOrEqual(BigInt(versionB!));
    expect(rows.slice(1, -1).every((r) => r.outcome === 'stale' && BigInt(r.version) >= BigInt(versionB!))).toBe(true);
    expect(await workersOf(rig, second.workflowId)).toContain(String(b.child.pid));
    expect([...(await workersOf(rig, first.workflowId))].filter((pid) => pid !== String(a.child.pid))).toEqual([]);
  });
});
