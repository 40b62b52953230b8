import { describe, expect, it } from 'vitest';
import { nextVersion } from '../../src/db/ats-version.js';
import { checkVersion, guardKey } from '../../src/guard/version-guard.js';
import { useServicesAndEmulator } from '../support/services.js';
import { auditRows, createShopFixture, type ShopFixture } from './fixture.js';
import type { SkuLocation } from '../../src/domain/sku-location.js';

/** The write lease's failure paths: a crashed holder's lease lapses; a holder that never lets go times the waiter out. */
const SKU = 'LEASE-1';
const WH = 'WH1';
const key: SkuLocation = { sku: SKU, locationId: WH };
const LEASE_MS = 600;

describe('the write lease when its holder does not come back', () => {
  const services = useServicesAndEmulator();

  async function shopAt(erp: number): Promise<ShopFixture> {
    const shop = await createShopFixture(services.svc, services.emu, { skus: [SKU], locations: [WH], prefix: 'lease' });
    await shop.setSource('erp', SKU, WH, erp);
    await shop.refresh().refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });
    return shop;
  }

  it("a crashed holder's lease lapses: the newer computation waits for it, then writes", async () => {
    const shop = await shopAt(10);
    await shop.setSource('erp', SKU, WH, 14);
    // A computation took the lease and died before its write returned: nobody releases or renews it.
    const crashed = await nextVersion(services.svc.db);
    expect(await checkVersion(services.svc.redis, { shopId: shop.shopId, ...key }, crashed, 99, LEASE_MS)).toEqual({ allowed: true });
    let waited = 0;
    const summary = await shop
      .refresh({ leaseMs: LEASE_MS, racePoints: { whileKeyBusy: async ({ busyWith }) => void (waited = Number(busyWith)) } })
      .refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' });

    expect(waited).toBe(Number(crashed));
    expect(summary.written).toEqual({ [`${SKU}|${WH}`]: 14 });
    expect(shop.level(SKU, WH).available).toBe(14);
    expect(await services.svc.redis.hget(guardKey({ shopId: shop.shopId, ...key }), 'lv')).toBeNull();
  });

  it('a holder that keeps its lease past the wait deadline fails the waiter with ISYNC_DEPENDENCY_UNAVAILABLE, writing nothing', async () => {
    const shop = await shopAt(20);
    await shop.setSource('erp', SKU, WH, 22);
    const holder = await nextVersion(services.svc.db);
    const hold = () => checkVersion(services.svc.redis, { shopId: shop.shopId, ...key }, holder, 99, LEASE_MS);
    expect(await hold()).toEqual({ allowed: true });
    // A live holder that never finishes: it renews its lease as a writer stuck in a long call would.
    const renewing = setInterval(() => void hold(), LEASE_MS / 4);
    try {
      await expect(shop.refresh({ leaseMs: LEASE_MS }).refreshKeys({ shopId: shop.shopId, keys: [key], trigger: 'test' })).rejects.toMatchObject({
        code: 'ISYNC_DEPENDENCY_UNAVAILABLE',
        message: expect.stringContaining('was not released'),
      });
    } finally {
      clearInterval(renewing);
    }
    expect(shop.level(SKU, WH).available).toBe(20);
    const last = (await auditRows(services.svc, shop.shopId)).at(-1)!;
    expect(last.outcome).toBe('applied'); // only the set-up write: the waiter wrote nothing
    expect(last.ats).toBe(20);
  });
});
