import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { ALLOCATION_SIGNAL, ORDER_EVENT_SIGNAL, type AllocationEvent, type OrderEvent } from '../../src/domain/reservation-model.js';
import { startShopifyReservation, updateUntilContinued } from '../reservations/fixtures/shopify-order.js';
import { startWorkerOn } from '../refresh/fixture.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * Records one history per workflow type into test/replay/histories, for replay.test.ts. Run it when a workflow
 * is added or deliberately changed with `patched()`, with a new label, and keep the older files:
 *   RECORD_HISTORIES=1 HISTORY_LABEL=2-something npx vitest run test/replay/record.test.ts
 */
const LABEL = process.env.HISTORY_LABEL ?? 'new';
describe.runIf(process.env.RECORD_HISTORIES === '1')('record workflow histories', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let catalog: SeededCatalog;
  const shopId = 'replay-shop';
  const domain = 'replay-shop.myshopify.com';
  const config = testConfig({
    // Grace 0: an order placed just before a reconciliation is taken by its missed-order step.
    inventory_sync: { delta_sync: { batch_size: 2 }, reservations: { ttl_seconds: 3600 }, reconciliation: { missed_order_grace_seconds: 0 } },
    shops: [
      { id: shopId, domain, access_token_env: 'REPLAY_TOKEN', webhook_secret_env: 'REPLAY_SECRET' },
      // Shopify refuses this shop's token: the failure branches.
      { id: 'replay-revoked', domain: 'replay-revoked.myshopify.com', access_token_env: 'REPLAY_REVOKED_TOKEN', webhook_secret_env: 'REPLAY_SECRET' },
    ],
    sources: [{ name: 'replay-erp', role: 'erp', type: 'postgres', shops: [shopId, 'replay-revoked'] }],
  });
  const keys = [
    { sku: 'A', locationId: 'WH1' },
    { sku: 'B', locationId: 'WH1' },
  ];

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: 'tok', locations: ['WH1'], skus: ['A', 'B'], initialAvailable: () => 1 });
    await recordSourceChanges(svc.db, 'replay-erp', keys.map((k, i) => ({ shopId, ...k, quantity: 30 + i, occurredAt: new Date().toISOString() })));
    await seedCatalog(emu.emulator, svc.db, { shopId: 'replay-revoked', domain: 'replay-revoked.myshopify.com', accessToken: 'tok-revoked', locations: ['WH1'], skus: ['A'], initialAvailable: () => 1 });
    await svc.startWorker(svc.activities(config, createShopifyClients(config, { baseUrl: emu.url, env: { REPLAY_TOKEN: 'tok', REPLAY_REVOKED_TOKEN: 'wrong' } })));
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  const save = async (workflowId: string, type: string, label = LABEL) => {
    const history = await svc.temporal.workflow.getHandle(workflowId).fetchHistory();
    writeFileSync(new URL(`./histories/${type}.${label}.json`, import.meta.url), `${historyToJSON(history)}\n`);
  };
  const opts = (id: string) => ({ taskQueue: svc.taskQueue, workflowId: `${id}-${Date.now()}` });

  it('records them', async () => {
    const refresh = opts('refresh');
    await svc.temporal.workflow.execute('refreshWorkflow', { ...refresh, args: [{ shopId, keys, trigger: 'replay' }] });
    await save(refresh.workflowId, 'refreshWorkflow');

    const activities = svc.activities(config, () => {
      throw new Error('unused');
    });
    await recordSourceChanges(svc.db, 'replay-erp', [{ shopId, ...keys[0]!, quantity: 40, occurredAt: new Date().toISOString() }]);
    await activities.markDirty({ shopId, keys: [keys[0]!], trigger: 'replay' });
    const item = catalog.ids.get('A|WH1')!;
    await expect.poll(() => emu.emulator.getLevel(domain, item.inventoryItemId, item.locationId).available, { timeout: 20_000 }).toBe(36);
    await svc.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('recorded');
    await save(`refresh:${shopId}`, 'shopRefreshWorkflow');

    const sync = opts('delta-sync');
    await svc.temporal.workflow.execute('deltaSyncWorkflow', { ...sync, args: [{ source: 'replay-erp', mode: 'delta' }] });
    await save(sync.workflowId, 'deltaSyncWorkflow');

    emu.emulator.setQuantities(domain, item.inventoryItemId, item.locationId, { available: 5 });
    const reconcile = opts('reconcile');
    await svc.temporal.workflow.execute('reconcileWorkflow', { ...reconcile, args: [{ shopId }] });
    await save(reconcile.workflowId, 'reconcileWorkflow');

    const reservation = opts('reservation');
    const created: OrderEvent = { kind: 'created', origin: 'external', at: new Date().toISOString(), deliveryId: 'r1', lines: [{ lineId: '1', sku: 'B', locationId: 'WH1', quantity: 2 }] };
    const handle = await svc.temporal.workflow.signalWithStart('reservationWorkflow', {
      ...reservation,
      args: [{ shopId, orderId: 'R-1', ttlSeconds: 3600, autoReleaseEnabled: true }],
      signal: ORDER_EVENT_SIGNAL,
      signalArgs: [created],
    });
    await expect.poll(async () => (await handle.query<{ state: string }>('status')).state, { timeout: 20_000 }).toBe('claimed');
    await handle.signal(ORDER_EVENT_SIGNAL, { ...created, kind: 'cancelled', at: new Date(Date.now() + 1000).toISOString(), deliveryId: 'r2' });
    expect((await handle.result()) as { state: string }).toMatchObject({ state: 'cancelled' });
    await save(reservation.workflowId, 'reservationWorkflow', `${LABEL}-external-order`);

    // A Shopify order (the storefront path): its locations come from its fulfillment orders.
    const started = { shopId, domain, taskQueue: svc.taskQueue, sku: 'A', workflowId: (id: string) => `reservation-shopify-${id}` };
    const storefront = await startShopifyReservation(svc.temporal, emu.emulator, started);
    await expect.poll(async () => (await storefront.handle.query<{ state: string }>('status')).state, { timeout: 20_000 }).toBe('claimed');
    // An event of the other origin is refused (patch refuse-foreign-origin), and the history shows it.
    await storefront.handle.signal(ORDER_EVENT_SIGNAL, { ...storefront.created, origin: 'external', kind: 'cancelled', at: new Date(Date.now() + 500).toISOString(), deliveryId: 'forged' });
    await expect.poll(async () => (await storefront.handle.query<{ foreignEventsRefused?: number }>('status')).foreignEventsRefused, { timeout: 20_000 }).toBe(1);
    await storefront.handle.signal(ORDER_EVENT_SIGNAL, { ...storefront.created, kind: 'cancelled', at: new Date(Date.now() + 1000).toISOString(), deliveryId: 's2' });
    expect((await storefront.handle.result()) as { state: string }).toMatchObject({ state: 'cancelled' });
    await save(storefront.handle.workflowId, 'reservationWorkflow', `${LABEL}-shopify-order`);

    // A busy order past the server's continue-as-new hint (200 events in tests): the first run ends continued.
    const busy = await startShopifyReservation(svc.temporal, emu.emulator, { ...started, workflowId: (id) => `reservation-busy-${id}` });
    const { firstRun } = await updateUntilContinued(busy.handle, busy.created);
    const continued = await svc.temporal.workflow.getHandle(busy.handle.workflowId, firstRun).fetchHistory();
    writeFileSync(new URL(`./histories/reservationWorkflow.${LABEL}-continued.json`, import.meta.url), `${historyToJSON(continued)}\n`);
    await svc.temporal.workflow.getHandle(busy.handle.workflowId).terminate('recorded');
  });

  /**
   * Reconciliation after the patch reconcile-short-steps, with an order whose webhook never came (the missed-order
   * step hands it off, heartbeating):
   *   RECORD_HISTORIES=1 HISTORY_LABEL=18-reconcile-short-steps npx vitest run test/replay/record.test.ts -t 'short steps'
   */
  it('records the reconciliation with its short steps', async () => {
    emu.emulator.placeOrder(domain, { lines: [{ sku: 'A', quantity: 1 }] });
    const reconcile = opts('reconcile-short');
    const result = await svc.temporal.workflow.execute('reconcileWorkflow', { ...reconcile, args: [{ shopId }] });
    expect(result).toMatchObject({ ordersStarted: 1 });
    await save(reconcile.workflowId, 'reconcileWorkflow');
  });

  /**
   * A delta sync after the patch delta-sync-heartbeat (its batches heartbeat, 20 s heartbeat timeout):
   *   RECORD_HISTORIES=1 HISTORY_LABEL=18-delta-sync-heartbeat npx vitest run test/replay/record.test.ts -t 'heartbeat'
   */
  it('records the delta sync with its heartbeat', async () => {
    await recordSourceChanges(svc.db, 'replay-erp', [{ shopId, ...keys[1]!, quantity: 44, occurredAt: new Date().toISOString() }]);
    const sync = opts('delta-sync-heartbeat');
    await svc.temporal.workflow.execute('deltaSyncWorkflow', { ...sync, args: [{ source: 'replay-erp', mode: 'delta' }] });
    await save(sync.workflowId, 'deltaSyncWorkflow');
  });

  /**
   * The branches a plain run never takes, so that replay guards them too:
   *   RECORD_HISTORIES=1 HISTORY_LABEL=3-rare npx vitest run test/replay/record.test.ts -t 'rare branches'
   */
  it('records the rare branches', async () => {
    const external = (orderId: string, at = new Date()): OrderEvent => ({ kind: 'created', origin: 'external', at: at.toISOString(), deliveryId: `${orderId}-c`, lines: [{ lineId: '1', sku: 'B', locationId: 'WH1', quantity: 1 }] });
    const reservation = async (orderId: string, ttlSeconds: number, autoReleaseEnabled: boolean) => {
      const o = opts(`reservation-${orderId}`);
      const created = external(orderId);
      const handle = await svc.temporal.workflow.signalWithStart('reservationWorkflow', { ...o, args: [{ shopId, orderId, ttlSeconds, autoReleaseEnabled }], signal: ORDER_EVENT_SIGNAL, signalArgs: [created] });
      await expect.poll(async () => (await handle.query<{ state: string }>('status')).state, { timeout: 20_000 }).not.toBe('new');
      return { handle, created };
    };

    // The expiry timer fires and releases the claim.
    const expiring = await reservation('R-EXP', 1, true);
    expect((await expiring.handle.result()) as { state: string }).toMatchObject({ state: 'expired' });
    await save(expiring.handle.workflowId, 'reservationWorkflow', `${LABEL}-expiry-released`);

    // The expiry timer fires with auto release off: an alert, the claim kept; then the order is cancelled.
    const alerted = await reservation('R-ALERT', 1, false);
    await expect.poll(async () => (await svc.db.query(`SELECT 1 FROM alerts WHERE subject = 'R-ALERT' AND kind = 'reservation_expired'`)).rowCount, { timeout: 20_000 }).toBe(1);
    await alerted.handle.signal(ORDER_EVENT_SIGNAL, { ...alerted.created, kind: 'cancelled', at: new Date(Date.now() + 1000).toISOString(), deliveryId: 'R-ALERT-x' });
    await alerted.handle.result();
    await save(alerted.handle.workflowId, 'reservationWorkflow', `${LABEL}-expiry-alert-only`);

    // The WMS allocates the line, then the order is fulfilled.
    const shipped = await reservation('R-SHIP', 3600, true);
    await shipped.handle.signal('wmsAllocation', { allocationId: 'a-1', source: 'replay-wms', occurredAt: new Date().toISOString(), lines: [{ lineId: '1', sku: 'B', locationId: 'WH1', quantity: 1 }] });
    await expect.poll(async () => (await shipped.handle.query<{ state: string }>('status')).state, { timeout: 20_000 }).toBe('allocated');
    await shipped.handle.signal(ORDER_EVENT_SIGNAL, { ...shipped.created, kind: 'fulfilled', at: new Date(Date.now() + 1000).toISOString(), deliveryId: 'R-SHIP-f' });
    expect((await shipped.handle.result()) as { state: string }).toMatchObject({ state: 'fulfilled' });
    await save(shipped.handle.workflowId, 'reservationWorkflow', `${LABEL}-allocated-fulfilled`);

    // Delta sync in full mode.
    const full = opts('delta-sync-full');
    await svc.temporal.workflow.execute('deltaSyncWorkflow', { ...full, args: [{ source: 'replay-erp', mode: 'full' }] });
    await save(full.workflowId, 'deltaSyncWorkflow', `${LABEL}-full`);

    // Reconciliation that fails (Shopify refuses the token): its report is marked failed.
    const failing = opts('reconcile-failing');
    await expect(svc.temporal.workflow.execute('reconcileWorkflow', { ...failing, args: [{ shopId: 'replay-revoked' }] })).rejects.toThrow();
    await save(failing.workflowId, 'reconcileWorkflow', `${LABEL}-failed`);

    // Reconciliation past the continue-as-new hint: the first run, which ends continued.
    const long = opts('reconcile-long');
    const longConfig = { ...config, inventory_sync: { ...config.inventory_sync, reconciliation: { ...config.inventory_sync.reconciliation, page_size: 1, export_chunk_lines: 1, export_slice_seconds: 0 } } };
    const manySkus = Array.from({ length: 45 }, (_, i) => `M${String(i).padStart(2, '0')}`);
    await seedCatalog(emu.emulator, svc.db, { shopId: 'replay-many', domain: 'replay-many.myshopify.com', accessToken: 'tok-many', locations: ['WH1'], skus: manySkus, initialAvailable: () => 3 });
    await recordSourceChanges(svc.db, 'replay-erp', manySkus.map((sku) => ({ shopId: 'replay-many', sku, locationId: 'WH1', quantity: 3, occurredAt: new Date().toISOString() })));
    const manyConfig = { ...longConfig, shops: [...config.shops, { ...config.shops[0]!, id: 'replay-many', domain: 'replay-many.myshopify.com', access_token_env: 'REPLAY_MANY_TOKEN' }] };
    const queue = `${svc.taskQueue}-many`;
    const worker = await startWorkerOn(queue, svc.activities(manyConfig, createShopifyClients(manyConfig, { baseUrl: emu.url, env: { REPLAY_MANY_TOKEN: 'tok-many' } })));
    try {
      const handle = await svc.temporal.workflow.start('reconcileWorkflow', { taskQueue: queue, workflowId: long.workflowId, args: [{ shopId: 'replay-many' }] });
      await handle.result();
      const first = await svc.temporal.workflow.getHandle(long.workflowId, handle.firstExecutionRunId).fetchHistory();
      expect(first.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(true);
      writeFileSync(new URL(`./histories/reconcileWorkflow.${LABEL}-continued.json`, import.meta.url), `${historyToJSON(first)}\n`);
    } finally {
      await worker.stop();
    }

    // The flash-sale bench's empty workflow ships in the same bundle.
    const empty = opts('empty');
    await svc.temporal.workflow.signalWithStart('emptyBaselineWorkflow', { ...empty, args: [], signal: 'go', signalArgs: [] });
    await svc.temporal.workflow.getHandle(empty.workflowId).result();
    await save(empty.workflowId, 'emptyBaselineWorkflow', LABEL);
  }, 300_000);

  /**
   * Patch pending-expiry-and-bounded-skus (src/workflows/reservation.ts):
   *   RECORD_HISTORIES=1 HISTORY_LABEL=19-pending npx vitest run test/replay/record.test.ts -t 'pending'
   */
  it('records a pending reservation of many long SKUs that expires before its order, then the order', async () => {
    const orderId = 'ext:oms:R-PEND';
    const o = opts('reservation-R-PEND');
    const args = [{ shopId, orderId, ttlSeconds: 1, autoReleaseEnabled: true }];
    const lines = Array.from({ length: 60 }, (_, i) => ({ lineId: String(i), sku: `LONG-${String(i).padStart(2, '0')}-${'x'.repeat(40)}`, locationId: 'WH1', quantity: 1 }));
    const pending = await svc.temporal.workflow.signalWithStart('reservationWorkflow', {
      ...o, args, signal: 'wmsAllocation', signalArgs: [{ allocationId: 'p-1', source: 'replay-wms', occurredAt: new Date().toISOString(), lines }],
    });
    expect((await pending.result()) as { state: string }).toMatchObject({ state: 'pending' });
    await save(o.workflowId, 'reservationWorkflow', `${LABEL}-expired-pending`);

    const created: OrderEvent = { kind: 'created', origin: 'external', at: new Date().toISOString(), deliveryId: 'R-PEND-c', lines: [{ lineId: '1', sku: 'B', locationId: 'WH1', quantity: 1 }] };
    const ordered = await svc.temporal.workflow.signalWithStart('reservationWorkflow', { ...o, args, signal: ORDER_EVENT_SIGNAL, signalArgs: [created] });
    await expect.poll(async () => (await ordered.query<{ state: string }>('status')).state, { timeout: 20_000 }).not.toBe('pending');
    await ordered.signal(ORDER_EVENT_SIGNAL, { ...created, kind: 'cancelled', at: new Date(Date.now() + 1000).toISOString(), deliveryId: 'R-PEND-x' });
    expect((await ordered.result()) as { state: string }).toMatchObject({ state: 'cancelled' });
    await save(o.workflowId, 'reservationWorkflow', `${LABEL}-order-after-pending`);
  }, 120_000);

  /** RECORD_HISTORIES=1 HISTORY_LABEL=20-housekeeping-orders-never-arrived npx vitest run test/replay/record.test.ts -t 'housekeeping' (19-housekeeping: before the patch) */
  it('records the housekeeping run', async () => {
    const o = opts('housekeeping');
    await svc.temporal.workflow.execute('housekeepingWorkflow', { ...o, args: [] });
    await save(o.workflowId, 'housekeepingWorkflow');
  });

  it('records the shop refresh failure backoff and continue-as-new', async () => {
    const busySkus = Array.from({ length: 45 }, (_, i) => `M${String(i).padStart(2, '0')}`);
    const busyConfig = { ...config, shops: [...config.shops, { ...config.shops[0]!, id: 'replay-busy', domain: 'replay-busy.myshopify.com', access_token_env: 'REPLAY_BUSY_TOKEN' }] };
    await seedCatalog(emu.emulator, svc.db, { shopId: 'replay-busy', domain: 'replay-busy.myshopify.com', accessToken: 'tok-busy', locations: ['WH1'], skus: busySkus, initialAvailable: () => 3 });
    await recordSourceChanges(svc.db, 'replay-erp', busySkus.map((sku) => ({ shopId: 'replay-busy', sku, locationId: 'WH1', quantity: 3, occurredAt: new Date().toISOString() })));
    const queue = `${svc.taskQueue}-refresh`;
    const worker = await startWorkerOn(queue, svc.activities(busyConfig, createShopifyClients(busyConfig, { baseUrl: emu.url, env: { REPLAY_BUSY_TOKEN: 'tok-busy' } })));
    try {
      // The shop refresh workflow: a flush that fails past its retries goes back to the queue and is flushed
      // after the backoff; then enough signals for the continue-as-new hint.
      const refreshId = 'refresh:replay-busy';
      const shopRefresh = await svc.temporal.workflow.start('shopRefreshWorkflow', { taskQueue: queue, workflowId: refreshId, args: [{ shopId: 'replay-busy', pending: [], coalesceWindowMs: 0, failureBackoffMs: 200 }] });
      emu.emulator.failNextRequests('replay-busy.myshopify.com', 200, { status: 503 });
      await shopRefresh.signal('keysDirty', { keys: [{ sku: 'M00', locationId: 'WH1' }], trigger: 'replay' });
      await expect.poll(async () => (await shopRefresh.query<{ failedFlushes: number }>('shopRefreshState')).failedFlushes, { timeout: 60_000, interval: 250 }).toBe(1);
      emu.emulator.clearFaults('replay-busy.myshopify.com');
      await expect.poll(async () => (await shopRefresh.query<{ keysFlushed: number }>('shopRefreshState')).keysFlushed, { timeout: 30_000 }).toBe(1);
      for (let i = 0; i < 300; i++) await shopRefresh.signal('keysDirty', { keys: [{ sku: busySkus[i % busySkus.length]!, locationId: 'WH1' }], trigger: `replay-${i % 3}` });
      await expect.poll(async () => (await svc.temporal.workflow.getHandle(refreshId).describe()).runId, { timeout: 120_000, interval: 500 }).not.toBe(shopRefresh.firstExecutionRunId);
      const refreshed = await svc.temporal.workflow.getHandle(refreshId, shopRefresh.firstExecutionRunId).fetchHistory();
      writeFileSync(new URL(`./histories/shopRefreshWorkflow.${LABEL}-failure-backoff-continued.json`, import.meta.url), `${historyToJSON(refreshed)}\n`);
      await svc.temporal.workflow.getHandle(refreshId).terminate('recorded');
    } finally {
      await worker.stop();
    }
  }, 300_000);
  it('records the shop refresh taking the keys a flush would leave behind', async () => {
    const skus = Array.from({ length: 260 }, (_, i) => `T${String(i).padStart(3, '0')}`);
    const shop = 'replay-remainder';
    const remainderConfig = { ...config, shops: [...config.shops, { ...config.shops[0]!, id: shop, domain: `${shop}.myshopify.com`, access_token_env: 'REPLAY_REMAINDER_TOKEN' }] };
    await seedCatalog(emu.emulator, svc.db, { shopId: shop, domain: `${shop}.myshopify.com`, accessToken: 'tok-remainder', locations: ['WH1'], skus, initialAvailable: () => 1 });
    await recordSourceChanges(svc.db, 'replay-erp', skus.map((sku) => ({ shopId: shop, sku, locationId: 'WH1', quantity: 2, occurredAt: new Date().toISOString() })));
    const queue = `${svc.taskQueue}-remainder`;
    const worker = await startWorkerOn(queue, svc.activities(remainderConfig, createShopifyClients(remainderConfig, { baseUrl: emu.url, env: { REPLAY_REMAINDER_TOKEN: 'tok-remainder' } })));
    try {
      const refreshId = `refresh:${shop}`;
      const handle = await svc.temporal.workflow.start('shopRefreshWorkflow', { taskQueue: queue, workflowId: refreshId, args: [{ shopId: shop, pending: [], coalesceWindowMs: 600_000 }] });
      await handle.signal('keysDirty', { keys: skus.map((sku) => ({ sku, locationId: 'WH1' })), trigger: 'replay' });
      await expect.poll(async () => (await handle.query<{ keysFlushed: number }>('shopRefreshState')).keysFlushed, { timeout: 30_000 }).toBe(260);
      await handle.terminate('recorded');
      await save(refreshId, 'shopRefreshWorkflow', `${LABEL}-take-remainder`);
    } finally {
      await worker.stop();
    }
  }, 120_000);

  /**
   * A confirmation the sweeper's lane converted (`refreshQueued`): the workflow converts nothing and queues no refresh
   * (patch lane-queued-refresh):
   *   RECORD_HISTORIES=1 HISTORY_LABEL=22 npx vitest run test/replay/record.test.ts -t 'lane converted'
   */
  it('records a reservation whose confirmation the lane converted', async () => {
    const reservation = opts('reservation-lane');
    const created: OrderEvent = { kind: 'created', origin: 'external', at: new Date().toISOString(), deliveryId: 'l1', lines: [{ lineId: '1', sku: 'B', locationId: 'WH1', quantity: 1 }] };
    const handle = await svc.temporal.workflow.signalWithStart('reservationWorkflow', {
      ...reservation,
      args: [{ shopId, orderId: 'R-LANE', ttlSeconds: 3600, autoReleaseEnabled: true }],
      signal: ORDER_EVENT_SIGNAL,
      signalArgs: [created],
    });
    await expect.poll(async () => (await handle.query<{ state: string }>('status')).state, { timeout: 20_000 }).toBe('claimed');
    const allocation: AllocationEvent = { allocationId: 'al-1', source: 'replay-wms', occurredAt: new Date().toISOString(), lines: [{ lineId: '1', sku: 'B', locationId: 'WH1', quantity: 1 }], refreshQueued: true };
    await handle.signal(ALLOCATION_SIGNAL, allocation);
    await expect.poll(async () => (await handle.query<{ state: string }>('status')).state, { timeout: 20_000 }).toBe('allocated');
    await handle.signal(ORDER_EVENT_SIGNAL, { ...created, kind: 'fulfilled', at: new Date(Date.now() + 1000).toISOString(), deliveryId: 'l2' });
    expect((await handle.result()) as { state: string }).toMatchObject({ state: 'fulfilled' });
    await save(reservation.workflowId, 'reservationWorkflow', `${LABEL}-lane-queued-refresh`);
  });
});
