import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { createSources } from '../../src/runtime/sources.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import type { ReconcileProgress } from '../../src/workflows/reconcile.js';
import { reconcileProgressQuery, reconcileWorkflow } from '../../src/workflows/index.js';
import { buildWorkerProcess, spawnWorker, workerSpec, type ChildWorker } from '../reservations/fixtures/worker-process-build.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

const LOCATIONS = ['WH1', 'WH2'];
const SKUS = Array.from({ length: 300 }, (_, i) => `KILL-${String(i).padStart(3, '0')}`);
/** 300 item lines and 600 level lines. */
const LINES = 900;

/**
 * A worker SIGKILLed in the middle of a reconciliation (at its first checkpoint past 60% of the export, a point
 * the worker process stops at and announces: not a sleep). Another worker resumes the run at that checkpoint:
 * it downloads the same export and skips the lines done; no chunk is counted twice, no drift corrected twice.
 */
describe('reconciliation resumes at its checkpoint after its worker is killed', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let catalog: SeededCatalog;
  let dir = '';
  let a: ChildWorker | undefined;
  const shopId = `rk-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const env = { RK_TOKEN: 'tok-rk', RK_SECRET: 'x' };
  const config = testConfig({
    // 50 lines a chunk, and one slice for the whole file: worker A would do it all in one activity.
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, reconciliation: { export_chunk_lines: 50, export_slice_seconds: 300, discrepancy_threshold: 5 } },
    shops: [{ id: shopId, domain, plan: 'plus', access_token_env: 'RK_TOKEN', webhook_secret_env: 'RK_SECRET' }],
    sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres' }],
  });

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: 'tok-rk', plan: 'plus', locations: LOCATIONS, skus: SKUS, initialAvailable: () => 20 });
    const at = new Date().toISOString();
    await recordSourceChanges(svc.db, `${shopId}-erp`, SKUS.flatMap((sku) => LOCATIONS.map((locationId) => ({ shopId, sku, locationId, quantity: 20, occurredAt: at }))));
    ({ dir } = await buildWorkerProcess());
  });
  afterAll(async () => {
    a?.child.kill('SIGKILL');
    await svc?.close();
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const setAvailable = (sku: string, loc: string, available: number) => {
    const ids = catalog.ids.get(`${sku}|${loc}`)!;
    emu.emulator.setQuantities(domain, ids.inventoryItemId, ids.locationId, { available });
  };
  const available = (sku: string, loc: string) => {
    const ids = catalog.ids.get(`${sku}|${loc}`)!;
    return emu.emulator.getLevel(domain, ids.inventoryItemId, ids.locationId).available;
  };

  it('a second worker finishes the run from the checkpoint; every key counted once', { timeout: 120_000 }, async () => {
    setAvailable('KILL-010', 'WH1', 31); // early in the file: corrected by worker A before it dies
    setAvailable('KILL-290', 'WH2', 2); // late: corrected by worker B

    a = spawnWorker(`${dir}/test/reservations/fixtures/worker-process.mjs`, workerSpec({ svc, config, env, emulatorUrl: emu.url }, { hangAtReconcileShare: 0.6 }));
    await a.printed('worker-ready');
    const handle = await svc.temporal.workflow.start(reconcileWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('reconcile-kill'), args: [{ shopId }] });
    await a.printed('race-point:reconcile-checkpoint');
    const { rows } = await svc.db.query<{ id: string; lines_done: string }>('SELECT id::text, lines_done::text FROM reconciliation_runs WHERE workflow_id = $1', [handle.workflowId]);
    const checkpoint = Number(rows[0]!.lines_done);
    expect(checkpoint).toBeGreaterThanOrEqual(0.6 * LINES);
    expect(checkpoint).toBeLessThan(LINES);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    expect(available('KILL-010', 'WH1')).toBe(20);
    expect(available('KILL-290', 'WH2')).toBe(2);

    // Worker B: the production activities, watched where they read the export.
    const skipped: number[] = [];
    const clients = createShopifyClients(config, { baseUrl: emu.url, env });
    const shopify = (id: string) => {
      const client = clients(id);
      return { ...client, bulkLines: (url: string, opts?: Parameters<typeof client.bulkLines>[1]) => (skipped.push(opts?.skipLines ?? 0), client.bulkLines(url, opts)) };
    };
    await svc.startWorker(createActivities({ db: svc.db, redis: svc.redis, config, sources: createSources(config, svc.db), shopify, temporal: svc.temporal, taskQueue: svc.taskQueue }));
    const result = await handle.result();

    // B downloaded the same file once and started at A's checkpoint.
    expect(skipped).toEqual([checkpoint]);
    expect(result).toMatchObject({ checked: 600, drifted: 2, corrected: 2, alerted: 2, linesDone: LINES, linesTotal: LINES, missing: 0, badLines: 0, done: true });
    const progress = await handle.query<ReconcileProgress>(reconcileProgressQuery);
    expect(progress).toMatchObject({ checked: 600, linesDone: LINES, done: true });
    const run = (await svc.db.query('SELECT status, keys_checked, drifted, corrected, lines_done::int FROM reconciliation_runs WHERE id = $1', [result.runId])).rows[0];
    expect(run).toEqual({ status: 'completed', keys_checked: 600, drifted: 2, corrected: 2, lines_done: LINES });
    expect(available('KILL-010', 'WH1')).toBe(20);
    expect(available('KILL-290', 'WH2')).toBe(20);
    // One Shopify write per corrected key: nothing redone.
    const counters = emu.emulator.counters(domain);
    expect(Object.values(counters.mutationsAppliedByKey).every((n) => n === 1)).toBe(true);
    expect(counters.bulkOperations).toBe(1);
    const rowsOut = (await svc.db.query('SELECT sku, location_id, drift FROM reconciliation_rows WHERE run_id = $1 ORDER BY sku', [result.runId])).rows;
    expect(rowsOut).toEqual([
      { sku: 'KILL-010', location_id: 'WH1', drift: 11 },
      { sku: 'KILL-290', location_id: 'WH2', drift: -18 },
    ]);
  });
});
