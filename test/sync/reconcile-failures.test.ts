import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { reconcileWorkflow } from '../../src/workflows/index.js';
import { startWorkerOn } from '../refresh/fixture.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * Reconciliation off its happy path: a run long enough to continue as new (progress and report carried, never
 * marked failed on the way), a run that fails (its report marked failed), alert_on_breach off, and the >= edge
 * of the threshold.
 */
describe('reconciliation: continue-as-new, failure, and the alert threshold', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await svc?.close();
    await emu?.close();
  });

  /** A shop whose `skus` sit at 20 in Shopify and in its ERP, reconciled by a worker of its own with `reconciliation`. */
  async function shopWith(skus: string[], reconciliation: Record<string, unknown>, opts: { token?: string } = {}) {
    const shopId = svc.uid('rcf');
    const domain = `${shopId}.myshopify.com`;
    const config = testConfig({
      inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, reconciliation },
      shops: [{ id: shopId, domain, access_token_env: 'RCF_TOKEN', webhook_secret_env: 'RCF_SECRET' }],
      sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres' }],
    });
    const catalog: SeededCatalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: `tok-${shopId}`, plan: 'plus', locations: ['WH1'], skus, initialAvailable: () => 20 });
    const at = new Date().toISOString();
    await recordSourceChanges(svc.db, `${shopId}-erp`, skus.map((sku) => ({ shopId, sku, locationId: 'WH1', quantity: 20, occurredAt: at })));
    const taskQueue = `rcf-${randomUUID()}`;
    const shopify = createShopifyClients(config, { baseUrl: emu.url, env: { RCF_TOKEN: opts.token ?? `tok-${shopId}` } });
    const worker = await startWorkerOn(taskQueue, { ...svc.activities(config, shopify) });
    stops.push(() => worker.stop());
    return {
      shopId,
      domain,
      drift(sku: string, available: number) {
        const ids = catalog.ids.get(`${sku}|WH1`)!;
        emu.emulator.setQuantities(domain, ids.inventoryItemId, ids.locationId, { available });
      },
      start: () => svc.temporal.workflow.start(reconcileWorkflow, { taskQueue, workflowId: svc.uid('reconcile'), args: [{ shopId }] }),
      alerts: async () => (await svc.db.query<{ subject: string }>(`SELECT subject FROM alerts WHERE kind = 'drift' AND shop_id = $1 ORDER BY subject`, [shopId])).rows.map((r) => r.subject),
    };
  }

  const runOf = async (runId: number | null) => (await svc.db.query('SELECT status, finished_at, keys_checked, drifted, corrected FROM reconciliation_runs WHERE id = $1', [runId])).rows[0];

  it('a run past the history limit continues as new carrying its progress, and its one report ends completed', async () => {
    const skus = Array.from({ length: 50 }, (_, i) => `CAN-${String(i).padStart(2, '0')}`);
    // One line of the export per chunk, one chunk per slice: 100 lines (50 items, 50 levels), 100 activities.
    const shop = await shopWith(skus, { export_chunk_lines: 1, export_slice_seconds: 0 });
    shop.drift('CAN-03', 26);
    shop.drift('CAN-47', 11);
    const handle = await shop.start();
    const result = await handle.result();

    expect(result).toMatchObject({ pages: 100, linesDone: 100, linesTotal: 100, checked: 50, drifted: 2, corrected: 2, alerted: 2, done: true });
    // The first run continued as new (the test server suggests it at 200 events) without finishing the report.
    const first = await svc.temporal.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    const events = first.events ?? [];
    expect(events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(true);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'finishReconciliation')).toEqual([]);
    expect(await runOf(result.runId)).toMatchObject({ status: 'completed', keys_checked: 50, drifted: 2, corrected: 2 });
    const runs = (await svc.db.query(`SELECT count(*)::int AS n FROM reconciliation_runs WHERE workflow_id = $1`, [handle.workflowId])).rows[0];
    expect(runs.n).toBe(1);
  });

  it('a run that fails marks its report failed', async () => {
    // Shopify refuses the worker's token: reading it cannot succeed, however often it is retried.
    const shop = await shopWith(['FAIL-1'], {}, { token: 'revoked' });
    const handle = await shop.start();
    await expect(handle.result()).rejects.toThrow();
    const { rows } = await svc.db.query('SELECT id FROM reconciliation_runs WHERE workflow_id = $1', [handle.workflowId]);
    expect(rows).toHaveLength(1);
    const run = await runOf(Number(rows[0].id));
    expect(run.status).toBe('failed');
    expect(run.finished_at).not.toBeNull();
  });

  it('with alert_on_breach false, drift over the threshold is corrected and raises no alert', async () => {
    const shop = await shopWith(['QUIET-1'], { discrepancy_threshold: 5, alert_on_breach: false });
    shop.drift('QUIET-1', 60);
    const result = await (await shop.start()).result();
    expect(result).toMatchObject({ drifted: 1, corrected: 1, alerted: 0 });
    expect(await shop.alerts()).toEqual([]);
  });

  it('a drift of exactly the threshold alerts; one unit less does not', async () => {
    const shop = await shopWith(['EDGE-AT', 'EDGE-UNDER', 'EDGE-BELOW'], { discrepancy_threshold: 5 });
    shop.drift('EDGE-AT', 25); // +5
    shop.drift('EDGE-UNDER', 16); // -4
    shop.drift('EDGE-BELOW', 15); // -5
    const result = await (await shop.start()).result();
    expect(result).toMatchObject({ drifted: 3, corrected: 3, alerted: 2 });
    expect(await shop.alerts()).toEqual(['EDGE-AT|WH1', 'EDGE-BELOW|WH1']);
  });

  it('bad rows do not stop a run: an unparseable export line is skipped, counted and named; a mapping to an item Shopify no longer has is reported, not retried', async () => {
    const shop = await shopWith(['BAD-0', 'BAD-1', 'BAD-2', 'BAD-3'], {});
    shop.drift('BAD-3', 9);
    // A mapping whose inventory item Shopify does not have (deleted after the mapping was made).
    await svc.db.query(
      `INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id) SELECT $1, 'GHOST', 'WH1', 'gid://shopify/InventoryItem/999999999', shopify_location_id FROM mappings WHERE shop_id = $1 LIMIT 1`,
      [shop.shopId],
    );
    await recordSourceChanges(svc.db, `${shop.shopId}-erp`, [{ shopId: shop.shopId, sku: 'GHOST', locationId: 'WH1', quantity: 20, occurredAt: new Date().toISOString() }]);
    // The export: item, level, item, level, ... Line 1 is BAD-0's item line, line 4 BAD-1's level line.
    emu.emulator.corruptNextBulkLines(shop.domain, [1, 4]);
    const result = await (await shop.start()).result();

    expect(result).toMatchObject({ checked: 3, drifted: 1, corrected: 1, badLines: 2, missing: 2, linesTotal: 8, done: true });
    const problems = (await svc.db.query<{ kind: string; line: string | null; sku: string | null; detail: string }>(
      'SELECT kind, line::int, sku, detail FROM reconciliation_problems WHERE run_id = $1 ORDER BY kind, line, sku',
      [result.runId],
    )).rows;
    expect(problems.map((p) => [p.kind, p.line, p.sku])).toEqual([
      ['bad_line', 1, null],
      ['bad_line', 4, null],
      ['missing_in_shopify', null, 'BAD-1'],
      ['missing_in_shopify', null, 'GHOST'],
    ]);
    expect(problems[0]!.detail).toMatch(/^not JSON \(.+\): \{"id":"gid:\/\/shopify\/Inve/);
    expect(problems[3]!.detail).toContain('gid://shopify/InventoryItem/999999999');
    const run = (await svc.db.query('SELECT status, bad_lines, missing_in_shopify FROM reconciliation_runs WHERE id = $1', [result.runId])).rows[0];
    expect(run).toEqual({ status: 'completed', bad_lines: 2, missing_in_shopify: 2 });
    // Nothing was written for the ghost, and nothing was tried for it.
    const audit = (await svc.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE shop_id = $1 AND sku = 'GHOST'`, [shop.shopId])).rows[0];
    expect(audit.n).toBe(0);
  });
});
