import { expect } from 'vitest';
import { InventorySyncError } from '../../src/domain/errors.js';
import { createShopifyClient, ShopBudget } from '../../src/shopify/client/index.js';
import type { RunningEmulator } from '../../src/shopify/emulator/index.js';

/** One shop of the emulator a client test writes to: its own counters and bucket. */
export interface Shop {
  domain: string;
  token: string;
  locations: string[];
  items: string[];
  skus: string[];
}

/**
 * The shops and clients of one client test file, on its running emulator: `seedShop` makes a fresh shop (items
 * `{prefix}-{shop}-{i}`, each stocked at every location, `initial` available), `clientFor` our real client for it.
 */
export function clientFixture(emulator: () => RunningEmulator, prefix: string) {
  let shopSeq = 0;
  const seedShop = (itemCount: number, locationCount = 1, initial = 0): Shop => {
    const running = emulator();
    const em = running.emulator;
    shopSeq += 1;
    const domain = `${prefix.toLowerCase()}-${process.pid}-${shopSeq}.myshopify.com`;
    const token = `shpat_${prefix.toLowerCase()}_${process.pid}_${shopSeq}`;
    em.createShop({ domain, accessToken: token, plan: 'standard' });
    const locations = Array.from({ length: locationCount }, (_, i) => em.createLocation(domain, { name: `Warehouse ${i}` }).id);
    const items: string[] = [];
    const skus: string[] = [];
    for (let i = 0; i < itemCount; i += 1) {
      const sku = `${prefix}-${shopSeq}-${i}`;
      items.push(em.createProduct(domain, { sku }).inventoryItemId);
      skus.push(sku);
      for (const loc of locations) if (initial !== 0) em.setQuantities(domain, items[i]!, loc, { available: initial });
    }
    return { domain, token, locations, items, skus };
  };
  const clientFor = (shop: Shop, extra: Partial<Parameters<typeof createShopifyClient>[0]> = {}) =>
    createShopifyClient({
      shopDomain: shop.domain,
      accessToken: shop.token,
      baseUrl: emulator().url,
      budget: new ShopBudget(shop.domain),
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
      ...extra,
    });
  return { seedShop, clientFor };
}

/** The catalogued error a call rejects with (never anything else). */
export async function rejection(p: Promise<unknown>): Promise<InventorySyncError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InventorySyncError);
  return err as InventorySyncError;
}
