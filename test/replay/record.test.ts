import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { ORDER_EVENT_SIGNAL, type OrderEvent } from '../../src/domain/reservation-model.js';
import { startShopifyReservation, updateUntilContinued } from '../reservations/fixtures/shopify-order.js';
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
    inventory_sync: { delta_sync: { batch_size: 2 }, reservations: { ttl_seconds: 3600 } },
    shops: [{ id: shopId, domain, access_token_env: 'REPLAY_TOKEN', webhook_secret_env: 'REPLAY_SECRET' }],
    sources: [{ name: 'replay-erp', role: 'erp', type: 'postgres' }],
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
    await svc.startWorker(svc.activities(config, createShopifyClients(config, { baseUrl: emu.url, env: { REPLAY_TOKEN: 'tok' } })));
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
});
