import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markDirty } from '../../src/temporal/handoff.js';
import { createActivities } from '../../src/activities/index.js';
import { createSources } from '../../src/runtime/sources.js';
import type { ShopifyClient } from '../../src/shopify/client/index.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { auditRows, createShopFixture, insertClaim, sharedSourcesConfig, type ShopFixture } from './fixture.js';

describe('several locations and several shops', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const sourcePrefix = `ms-${Date.now().toString(36)}`;
  const clients = new Map<string, ShopifyClient>();
  const shops: ShopFixture[] = [];

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    const config = sharedSourcesConfig(sourcePrefix);
    await svc.startWorker(
      createActivities({ db: svc.db, redis: svc.redis, config, sources: createSources(config, svc.db), shopify: (shopId) => clients.get(shopId)!, temporal: svc.temporal, taskQueue: svc.taskQueue }),
    );
  });
  afterAll(async () => {
    for (const shop of shops) await svc.temporal.workflow.getHandle(`refresh:${shop.shopId}`).terminate('test over').catch(() => undefined);
    await svc?.close();
    await emu?.close();
  });

  async function shop(skus: string[], locations: string[]): Promise<ShopFixture> {
    const s = await createShopFixture(svc, emu, { skus, locations, sourcePrefix, prefix: 'ms' });
    clients.set(s.shopId, s.shopify);
    shops.push(s);
    return s;
  }
  const dirty = (s: ShopFixture, keys: { sku: string; locationId: string }[]) => markDirty({ temporal: svc.temporal, taskQueue: svc.taskQueue }, { shopId: s.shopId, keys, trigger: 'source_event' });

  it('keeps ATS per location: the same SKU gets each location\'s own quantity, and a change at one location writes only there', async () => {
    const s = await shop(['KETTLE'], ['WH1', 'STORE']);
    await s.setSource('erp', 'KETTLE', 'WH1', 50);
    await s.setSource('erp', 'KETTLE', 'STORE', 8);
    await s.setSource('pos', 'KETTLE', 'STORE', 2);
    await insertClaim(svc, s.shopId, 'web-1', 'KETTLE', 'WH1', 5);
    await dirty(s, [{ sku: 'KETTLE', locationId: 'WH1' }, { sku: 'KETTLE', locationId: 'STORE' }]);
    await expect.poll(() => [s.level('KETTLE', 'WH1').available, s.level('KETTLE', 'STORE').available], { timeout: 15_000 }).toEqual([45, 6]);

    await s.setSource('wms', 'KETTLE', 'STORE', 1);
    await dirty(s, [{ sku: 'KETTLE', locationId: 'STORE' }]);
    await expect.poll(() => s.level('KETTLE', 'STORE').available, { timeout: 15_000 }).toBe(5);
    expect(s.level('KETTLE', 'WH1').available).toBe(45);
    await expect.poll(async () => (await auditRows(svc, s.shopId)).length).toBe(3);
    const rows = await auditRows(svc, s.shopId);
    expect(rows.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(new Set(rows.slice(0, 2).map((r) => `${r.location_id}=${r.ats}`))).toEqual(new Set(['WH1=45', 'STORE=6']));
    expect(rows[2]).toMatchObject({ location_id: 'STORE', ats: 5 });
    expect(rows.filter((r) => r.location_id === 'WH1')).toHaveLength(1);
  });

  it('each shop has its own budget: a throttled shop waits while the other writes unhindered', async () => {
    const skus = ['P1', 'P2', 'P3'];
    const a = await shop(skus, ['WH1']);
    const b = await shop(skus, ['WH1']);
    for (const s of [a, b]) for (const sku of skus) await s.setSource('erp', sku, 'WH1', 30);
    emu.emulator.setFaults(a.domain, { forceThrottle: true });

    await Promise.all([dirty(a, skus.map((sku) => ({ sku, locationId: 'WH1' }))), dirty(b, skus.map((sku) => ({ sku, locationId: 'WH1' })))]);
    await expect.poll(() => skus.map((sku) => b.level(sku, 'WH1').available), { timeout: 15_000 }).toEqual([30, 30, 30]);
    await expect.poll(() => emu.emulator.counters(a.domain).throttled).toBeGreaterThan(0);
    expect(skus.map((sku) => a.level(sku, 'WH1').available)).toEqual([0, 0, 0]);

    emu.emulator.clearFaults(a.domain);
    await expect.poll(() => skus.map((sku) => a.level(sku, 'WH1').available), { timeout: 30_000 }).toEqual([30, 30, 30]);
    expect(emu.emulator.counters(b.domain).throttled).toBe(0);
    expect(a.shopify.budget).not.toBe(b.shopify.budget);
  });
});
