import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { reconcileWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

describe('reconciliation', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let catalog: SeededCatalog;
  const shopId = `rc-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const skus = Array.from({ length: 130 }, (_, i) => `SKU-${String(i).padStart(3, '0')}`);
  const config = testConfig({
    // Grace 0: the order placed below is taken at once (the grace period is tested in reconcile-missed-orders.test.ts).
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, reconciliation: { discrepancy_threshold: 5, missed_order_grace_seconds: 0 } },
    shops: [{ id: shopId, domain, access_token_env: 'RC_TOKEN', webhook_secret_env: 'RC_SECRET' }],
    sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres' }],
  });

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    // Shopify starts equal to ATS (20) everywhere but for the keys below.
    // Plus: each run reads ~2,300 points; on Standard (100/s) the budget pacing alone would take seconds per run.
    catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: 'tok-rc', plan: 'plus', locations: ['WH1', 'WH2'], skus, initialAvailable: () => 20 });
    const at = new Date().toISOString();
    await recordSourceChanges(
      svc.db,
      `${shopId}-erp`,
      skus.filter((s) => s !== 'SKU-129').flatMap((sku) => ['WH1', 'WH2'].map((locationId) => ({ shopId, sku, locationId, quantity: 20, occurredAt: at }))),
    );
    const shopify = createShopifyClients(config, { baseUrl: emu.url, env: { RC_TOKEN: 'tok-rc' } });
    await svc.startWorker(svc.activities(config, shopify));
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  const drift = (sku: string, loc: string, available: number) => {
    const ids = catalog.ids.get(`${sku}|${loc}`)!;
    emu.emulator.setQuantities(domain, ids.inventoryItemId, ids.locationId, { available });
  };
  const available = (sku: string, loc: string) => {
    const ids = catalog.ids.get(`${sku}|${loc}`)!;
    return emu.emulator.getLevel(domain, ids.inventoryItemId, ids.locationId).available;
  };

  it('finds drift in one bulk export, corrects it through the guarded write, alerts over the threshold and stores a report', async () => {
    drift('SKU-000', 'WH1', 23); // +3: corrected, under the threshold
    drift('SKU-100', 'WH2', 9); // -11: corrected and alerted
    drift('SKU-129', 'WH1', 40); // no ERP reading: not ours to judge, left alone

    const workflowId = svc.uid('reconcile');
    const result = await svc.temporal.workflow.execute(reconcileWorkflow, { taskQueue: svc.taskQueue, workflowId, args: [{ shopId }] });

    expect(result).toMatchObject({ pages: 1, checked: 260, drifted: 2, corrected: 2, alerted: 1, badLines: 0, missing: 0, linesTotal: 390, linesDone: 390, done: true });
    expect(available('SKU-000', 'WH1')).toBe(20);
    expect(available('SKU-100', 'WH2')).toBe(20);
    expect(available('SKU-129', 'WH1')).toBe(40);

    const run = (await svc.db.query('SELECT * FROM reconciliation_runs WHERE id = $1', [result.runId])).rows[0];
    expect(run).toMatchObject({ shop_id: shopId, workflow_id: workflowId, status: 'completed', keys_checked: 260, drifted: 2, corrected: 2 });
    expect(run.finished_at).not.toBeNull();
    const rows = (await svc.db.query('SELECT sku, location_id, shopify_qty, ats, drift, corrected FROM reconciliation_rows WHERE run_id = $1 ORDER BY sku', [result.runId])).rows;
    expect(rows).toEqual([
      { sku: 'SKU-000', location_id: 'WH1', shopify_qty: 23, ats: 20, drift: 3, corrected: true },
      { sku: 'SKU-100', location_id: 'WH2', shopify_qty: 9, ats: 20, drift: -11, corrected: true },
    ]);
    const alerts = (await svc.db.query(`SELECT subject, details FROM alerts WHERE kind = 'drift' AND shop_id = $1`, [shopId])).rows;
    expect(alerts).toEqual([{ subject: 'SKU-100|WH2', details: { runId: result.runId, shopify: 9, ats: 20, drift: -11 } }]);
    const audit = (await svc.db.query(`SELECT sku, outcome FROM audit_log WHERE shop_id = $1 AND trigger = 'reconciliation' ORDER BY sku`, [shopId])).rows;
    expect(audit).toEqual([
      { sku: 'SKU-000', outcome: 'applied' },
      { sku: 'SKU-100', outcome: 'applied' },
    ]);
  });

  it('a second run over a shop in sync finds nothing and writes nothing', async () => {
    const before = emu.emulator.counters(domain);
    const result = await svc.temporal.workflow.execute(reconcileWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('reconcile'), args: [{ shopId }] });
    expect(result).toMatchObject({ checked: 260, drifted: 0, corrected: 0 });
    // one bulk export read, no writes
    const after = emu.emulator.counters(domain);
    expect(after.bulkOperations - before.bulkOperations).toBe(1);
    expect(after.mutationsApplied - before.mutationsApplied).toBe(0);
  });

  it('starts the reservation of an order whose webhook never came, before judging drift', async () => {
    // The shop has no webhook address: Shopify commits the units, we hear nothing.
    const order = emu.emulator.placeOrder(domain, { lines: [{ sku: 'SKU-050', quantity: 3 }], locationId: catalog.locationIds.get('WH2')! });
    expect(available('SKU-050', 'WH2')).toBe(17);

    const result = await svc.temporal.workflow.execute(reconcileWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('reconcile'), args: [{ shopId }] });

    const orderId = order.id.split('/').pop()!;
    expect(result).toMatchObject({ ordersStarted: 1, drifted: 0 });
    // Shopify was right all along: it is not "corrected" back up by the order's units.
    expect(available('SKU-050', 'WH2')).toBe(17);
    const claims = (await svc.db.query('SELECT sku, location_id, claimed FROM claim_lines WHERE shop_id = $1 AND order_id = $2', [shopId, orderId])).rows;
    expect(claims).toEqual([{ sku: 'SKU-050', location_id: 'WH2', claimed: 3 }]);
    const alerts = (await svc.db.query(`SELECT details FROM alerts WHERE kind = 'missed_webhooks' AND shop_id = $1`, [shopId])).rows;
    expect(alerts).toEqual([{ details: { runId: result.runId, started: 1 } }]);

    const again = await svc.temporal.workflow.execute(reconcileWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('reconcile'), args: [{ shopId }] });
    expect(again).toMatchObject({ ordersStarted: 0, drifted: 0 });
  });
});
