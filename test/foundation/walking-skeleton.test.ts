import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog } from '../../src/demo/seed-catalog.js';
import { guardKey } from '../../src/guard/version-guard.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { refreshWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

describe('walking skeleton: one key through Temporal, PostgreSQL, Redis and the Shopify emulator', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const shopId = `skel-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const config = testConfig({
    shops: [{ id: shopId, domain, access_token_env: 'SKELETON_TOKEN', webhook_secret_env: 'SKELETON_SECRET' }],
    sources: [
      { name: `${shopId}-erp`, role: 'erp', type: 'postgres' },
      { name: `${shopId}-wms`, role: 'wms', type: 'postgres' },
      { name: `${shopId}-pos`, role: 'pos', type: 'postgres' },
    ],
  });
  let item: { inventoryItemId: string; locationId: string };

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    const catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: 'tok-skel', locations: ['WH1'], skus: ['TEE-RED-M'], initialAvailable: () => 3 });
    item = catalog.ids.get('TEE-RED-M|WH1')!;
    const shopify = createShopifyClients(config, { baseUrl: emu.url, env: { SKELETON_TOKEN: 'tok-skel' } });
    await svc.startWorker(svc.activities(config, shopify));
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 8, 0, s)).toISOString();
  const key = { shopId, sku: 'TEE-RED-M', locationId: 'WH1' };

  it('sets Shopify available to max(0, erp - wms - pos - claims - buffer) and audits the write', async () => {
    await recordSourceChanges(svc.db, `${shopId}-erp`, [{ ...key, quantity: 100, occurredAt: at(1) }]);
    await recordSourceChanges(svc.db, `${shopId}-wms`, [{ ...key, quantity: 10, occurredAt: at(1) }]);
    await recordSourceChanges(svc.db, `${shopId}-pos`, [{ ...key, quantity: 5, occurredAt: at(1) }]);

    const summary = await svc.temporal.workflow.execute(refreshWorkflow, {
      taskQueue: svc.taskQueue,
      workflowId: svc.uid('skeleton'),
      args: [{ shopId, keys: [{ sku: key.sku, locationId: key.locationId }], trigger: 'test' }],
    });

    // dynamic buffer: 10% of 100 on hand = 10, so 100 - 10 - 5 - 0 - 10 = 75
    expect(summary.written).toEqual({ 'TEE-RED-M|WH1': 75 });
    expect(emu.emulator.getLevel(domain, item.inventoryItemId, item.locationId).available).toBe(75);
    const { rows } = await svc.db.query('SELECT * FROM audit_log WHERE shop_id = $1 ORDER BY id', [shopId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'applied', ats: 75, previous_shopify: 3, delta: 72, version: summary.version, trigger: 'test' });
    expect(rows[0].components).toEqual({ erpOnHand: 100, wmsAllocated: 10, posPending: 5, openClaims: 0, safetyBuffer: 10 });
    expect(rows[0].idempotency_key).toBe(`v${summary.version}`);
    expect(await svc.redis.hget(guardKey(key), 'v')).toBe(summary.version);
  });

  it('follows a later source change with a newer version', async () => {
    await recordSourceChanges(svc.db, `${shopId}-erp`, [{ ...key, quantity: 40, occurredAt: at(2) }]);
    // an older reading arriving late must not replace the newer snapshot
    await recordSourceChanges(svc.db, `${shopId}-erp`, [{ ...key, quantity: 999, occurredAt: at(0) }]);
    const first = await svc.db.query(`SELECT max(version) AS v FROM audit_log WHERE shop_id = $1`, [shopId]);
    const summary = await svc.temporal.workflow.execute(refreshWorkflow, {
      taskQueue: svc.taskQueue,
      workflowId: svc.uid('skeleton'),
      args: [{ shopId, keys: [{ sku: key.sku, locationId: key.locationId }], trigger: 'test' }],
    });
    // 40 - 10 - 5 - 0 - 4 = 21
    expect(summary.written).toEqual({ 'TEE-RED-M|WH1': 21 });
    expect(BigInt(summary.version)).toBeGreaterThan(BigInt(first.rows[0].v));
    expect(emu.emulator.getLevel(domain, item.inventoryItemId, item.locationId).available).toBe(21);
  });

  it('reaches Shopify through the shop\'s coalescing refresh workflow when keys are marked dirty', async () => {
    await recordSourceChanges(svc.db, `${shopId}-erp`, [{ ...key, quantity: 60, occurredAt: at(3) }]);
    const activities = svc.activities(config, () => {
      throw new Error('not used by markDirty');
    });
    await activities.markDirty({ shopId, keys: [{ sku: key.sku, locationId: key.locationId }], trigger: 'source_event' });
    await activities.markDirty({ shopId, keys: [{ sku: key.sku, locationId: key.locationId }], trigger: 'source_event' });
    // 60 - 10 - 5 - 0 - 6 = 39
    await expect.poll(() => emu.emulator.getLevel(domain, item.inventoryItemId, item.locationId).available, { timeout: 15_000 }).toBe(39);
    await svc.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('test over');
  });
});
