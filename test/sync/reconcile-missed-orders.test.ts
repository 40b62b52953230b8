import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handOnMissedOrders, type MissedOrdersProgress, type ProgressPort } from '../../src/activities/reconcile-missed-orders.js';
import type { Config } from '../../src/config/schema.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { openReconciliationRun } from '../../src/db/reconciliation.js';
import { seedCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * Reconciliation's missed-order step (src/activities/reconcile-missed-orders.ts) against a real emulator, PostgreSQL
 * and Temporal: the grace period, the webhook ledger, and resuming from a killed attempt's heartbeat.
 */
describe("reconciliation's missed-order step", () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const shopId = `mo-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const configWith = (graceSeconds: number): Config =>
    testConfig({
      inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, reconciliation: { missed_order_grace_seconds: graceSeconds } },
      shops: [{ id: shopId, domain, access_token_env: 'MO_TOKEN', webhook_secret_env: 'MO_SECRET' }],
      sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres' }],
    });
  let wh1: string;

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    const catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: 'tok-mo', locations: ['WH1'], skus: ['A'], initialAvailable: () => 200 });
    wh1 = catalog.locationIds.get('WH1')!;
    await recordSourceChanges(svc.db, `${shopId}-erp`, [{ shopId, sku: 'A', locationId: 'WH1', quantity: 200, occurredAt: new Date().toISOString() }]);
    const config = configWith(0);
    await svc.startWorker(svc.activities(config, createShopifyClients(config, { baseUrl: emu.url, env: { MO_TOKEN: 'tok-mo' } })));
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  const deps = (graceSeconds: number) => {
    const config = configWith(graceSeconds);
    return { db: svc.db, config, shopify: createShopifyClients(config, { baseUrl: emu.url, env: { MO_TOKEN: 'tok-mo' } }), temporal: svc.temporal, taskQueue: svc.taskQueue };
  };
  const place = () => emu.emulator.placeOrder(domain, { lines: [{ sku: 'A', quantity: 1 }], locationId: wh1 }).id.split('/').pop()!;
  const newRun = () => openReconciliationRun(svc.db, shopId, svc.uid('reconcile'));
  const port = (resume?: MissedOrdersProgress) => {
    const beats: MissedOrdersProgress[] = [];
    const p: ProgressPort = { resumeFrom: () => resume, heartbeat: (progress) => void beats.push(structuredClone(progress)) };
    return { p, beats };
  };
  const claimed = async (orderId: string) => (await svc.db.query('SELECT 1 FROM reservations WHERE shop_id = $1 AND order_id = $2', [shopId, orderId])).rowCount;
  const reconciliationSignals = async (orderId: string) => {
    const history = await svc.temporal.workflow.getHandle(`reservation:${shopId}:${orderId}`).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  };

  it('passes over an order younger than the grace period (its webhook may be on its way), and takes it once older', async () => {
    const young = place();
    const first = await handOnMissedOrders(deps(3600), { runId: await newRun(), shopId }, undefined);
    expect(first).toMatchObject({ started: 0, skippedYoung: 1 });
    expect(await claimed(young)).toBe(0);

    const second = await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, undefined);
    expect(second).toMatchObject({ started: 1, skippedYoung: 0, unclaimed: 0 });
    // Waited for the claim in PostgreSQL before answering: drift is judged right after.
    expect(await claimed(young)).toBe(1);
  });

  it('takes an order of more than 50 lines whose first 50 are shipped: the listing shows 50, the rest still hold units', async () => {
    const lines = Array.from({ length: 52 }, () => ({ sku: 'A', quantity: 1 }));
    const order = emu.emulator.placeOrder(domain, { lines, locationId: wh1 });
    const orderId = order.id.split('/').pop()!;
    emu.emulator.fulfillOrder(domain, orderId, { lines: order.lineItems.slice(0, 50).map((l) => ({ lineItemId: l.id.split('/').pop()!, quantity: 1 })) });
    const result = await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, undefined);
    expect(result).toMatchObject({ started: 1, unclaimed: 0 });
    expect(await claimed(orderId)).toBe(1);
    const { rows } = await svc.db.query<{ n: number }>('SELECT sum(claimed)::int AS n FROM claim_lines WHERE shop_id = $1 AND order_id = $2', [shopId, orderId]);
    expect(rows[0]!.n).toBe(2);
  });

  it('passes over an order whose webhook the ledger recorded (the outbox sweeper hands it off)', async () => {
    const recorded = place();
    await svc.db.query(
      `INSERT INTO webhook_deliveries (webhook_id, shop_domain, topic, subject_id, outcome) VALUES ($1, $2, 'orders/create', $3, 'pending')`,
      [svc.uid('wh'), domain, recorded],
    );
    const result = await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, undefined);
    expect(result).toMatchObject({ started: 0, skippedInLedger: 1 });
    expect(await claimed(recorded)).toBe(0);
    // Out of the way of the next tests (it is not claimed, by design).
    emu.emulator.cancelOrder(domain, recorded);
  });

  it('heartbeats its progress, and an attempt retried after a killed worker resumes from it without handing off again', async () => {
    const a = place();
    const attempt = port();
    const first = await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, attempt.p);
    expect(first).toMatchObject({ started: 1, unclaimed: 0 });
    expect(attempt.beats.at(-1)).toMatchObject({ handedOff: [a], phase: 'waiting' });
    expect(await reconciliationSignals(a)).toBe(1);

    // A retry of an attempt whose worker was killed: its last heartbeat lists `c` as handed off already. The retry
    // passes over it (no second signal-with-start; here there was not even a first, so no workflow exists), hands
    // off the new `d`, counts both, and waits for both claims.
    const c = place();
    const d = place();
    const retry = port({ handedOff: [c], skippedYoung: 0, skippedInLedger: 0, phase: 'listing' });
    const second = await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, retry.p, { claimWaitMs: 1500 });
    expect(second).toMatchObject({ started: 2, unclaimed: 1 });
    expect(retry.beats.at(-1)!.handedOff).toEqual([c, d]);
    expect(await reconciliationSignals(d)).toBe(1);
    await expect(svc.temporal.workflow.getHandle(`reservation:${shopId}:${c}`).describe()).rejects.toThrow(/not found/i);
    expect(await claimed(c)).toBe(0);
    emu.emulator.cancelOrder(domain, c);
  });

  it('hands a lost cancellation to the order workflow: an order Shopify shows cancelled no longer holds its claims', async () => {
    const state = async (orderId: string) => (await svc.db.query<{ state: string }>('SELECT state FROM reservations WHERE shop_id = $1 AND order_id = $2', [shopId, orderId])).rows[0]?.state;
    const heldUnits = async (orderId: string) =>
      Number((await svc.db.query<{ n: string }>(`SELECT coalesce(sum(claimed), 0)::text AS n FROM claim_lines WHERE shop_id = $1 AND order_id = $2`, [shopId, orderId])).rows[0]!.n);
    const order = place();
    expect(await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, undefined)).toMatchObject({ started: 1, unclaimed: 0, cancelled: 0 });
    expect(await state(order)).toBe('claimed');
    expect(await heldUnits(order)).toBe(1);

    // Cancelled in Shopify; this emulator shop has no webhook URL, so no orders/cancelled nor orders/updated reaches
    // us, as when both are lost. Within the grace period the cancellation is left to the webhook still on its way.
    emu.emulator.cancelOrder(domain, order);
    expect(await handOnMissedOrders(deps(3600), { runId: await newRun(), shopId }, undefined)).toMatchObject({ cancelled: 0 });
    expect(await state(order)).toBe('claimed');

    const attempt = port();
    const result = await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, attempt.p);
    expect(result).toMatchObject({ started: 0, cancelled: 1, unreleased: 0 });
    expect(attempt.beats.at(-1)!.cancelsHandedOff).toEqual([order]);
    // Waited until the workflow released the claims: drift is judged right after.
    expect(await state(order)).toBe('cancelled');
    expect(await heldUnits(order)).toBe(0);

    // The next run finds nothing more to do for it.
    expect(await handOnMissedOrders(deps(0), { runId: await newRun(), shopId }, undefined)).toMatchObject({ cancelled: 0 });
  });
});
