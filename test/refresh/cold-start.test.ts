import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardKey } from '../../src/guard/version-guard.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { auditRows, createShopFixture, insertClaim } from './fixture.js';

describe('cold start: Shopify quantities we never saw', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0, bulkDelayMs: 5 });
  });
  afterAll(async () => {
    await svc?.close();
    await emu?.close();
  });

  it('learns the whole shop from one bulk export instead of reading level by level, and the compares hold', async () => {
    const skus = Array.from({ length: 300 }, (_, i) => `C${String(i).padStart(3, '0')}`);
    const shop = await createShopFixture(svc, emu, { skus, locations: ['WH1'], initialAvailable: () => 5 });
    await svc.db.query(
      `INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at) SELECT $1, $2, sku, 'WH1', 20, now() FROM unnest($3::text[]) sku`,
      [shop.source.erp, shop.shopId, skus],
    );
    const keys = skus.map((sku) => ({ sku, locationId: 'WH1' }));
    const before = emu.emulator.counters(shop.domain);

    await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: keys.slice(0, 250), trigger: 'test' });
    const afterFirst = emu.emulator.counters(shop.domain);
    expect(afterFirst.bulkOperations - before.bulkOperations).toBe(1);
    expect(afterFirst.mutationsApplied - before.mutationsApplied).toBe(1);
    // A key outside that batch was learned too, in a guard hash that expires like every other.
    expect(await svc.redis.hget(guardKey({ shopId: shop.shopId, sku: 'C299', locationId: 'WH1' }), 's')).toBe('5');
    expect(await svc.redis.ttl(guardKey({ shopId: shop.shopId, sku: 'C299', locationId: 'WH1' }))).toBeGreaterThan(0);

    // The rest of the shop is known already: one write, nothing read, no second export.
    const seen: number[] = [];
    await shop
      .refresh({
        racePoints: {
          async afterComponentsRead({ round }) {
            if (round > 0) return;
            // An order after the export and after our read: the compare must still catch it.
            emu.emulator.placeOrder(shop.domain, { lines: [{ sku: 'C299', quantity: 2 }], locationId: shop.catalog.locationIds.get('WH1')! });
            await insertClaim(svc, shop.shopId, svc.uid('order'), 'C299', 'WH1', 2);
            seen.push(round);
          },
        },
      })
      .refreshKeys({ shopId: shop.shopId, keys: keys.slice(250), trigger: 'test' });
    const afterSecond = emu.emulator.counters(shop.domain);
    expect(afterSecond.bulkOperations).toBe(afterFirst.bulkOperations);

    expect(skus.slice(0, 299).every((s) => shop.level(s, 'WH1').available === 20)).toBe(true);
    expect(shop.level('C299', 'WH1')).toMatchObject({ available: 18, committed: 2 });
    const rows = await auditRows(svc, shop.shopId);
    expect(rows.filter((r) => r.outcome === 'applied' && r.previous_shopify === 5)).toHaveLength(299);
    expect(rows.filter((r) => r.outcome === 'stale').map((r) => r.sku)).toEqual(['C299']);
  });
});
