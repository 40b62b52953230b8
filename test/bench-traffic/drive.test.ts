import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveTrace, SourceBook } from '../../bench/traffic/drive.js';
import { seedShop, type SeededShop } from '../../bench/traffic/shop.js';
import { generateTrace, type Trace } from '../../bench/traffic/trace.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';

/**
 * The driver against the emulator with no system syncing Shopify: nothing ever lowers Shopify's `available` for a
 * POS sale or a marketplace order, so the channels that read Shopify oversell, and the ground truth must say so.
 */
let emu: RunningEmulator;
let shop: SeededShop;
const trace: Trace = generateTrace({ seed: 21, skus: 3, durationMs: 2000 });

beforeAll(async () => {
  emu = await startEmulator({ port: 0, logger: false });
  shop = await seedShop(emu.url, 'drive.myshopify.com', trace, { accessToken: 'shpat-drive' });
});
afterAll(async () => emu?.close());

describe('driveTrace', () => {
  it('replays every channel into the emulator and the ground truth, which counts the oversell of a shop nobody syncs', async () => {
    const seen: string[] = [];
    const result = await driveTrace(trace, { emulator: { url: emu.url, domain: shop.domain, locations: shop.locations }, hooks: { sourceChanged: (c) => void seen.push(c.role) } }, { timeScale: 0.05 });
    expect(result.errors).toEqual([]);
    const s = result.truth.summary();
    // Shopify never oversells its own checkouts: per key, storefront units held (not cancelled) <= its starting available.
    for (const line of trace.initialStock) {
      const held = [...result.orders.values()].filter((o) => o.channel === 'storefront' && o.sku === line.sku && o.locationId === line.locationId && !result.truth.saleOf('storefront', o.orderId)!.cancelled);
      const taken = held.reduce((n, o) => n + o.quantity, 0);
      expect(taken).toBeLessThanOrEqual(line.units);
    }
    // ... but the POS sells units Shopify still shows, and the marketplace mirrors Shopify: units oversold.
    expect(s.channels.pos.acceptedUnits).toBeGreaterThan(0);
    expect(s.oversoldUnits).toBeGreaterThan(0);
    // Every demanded unit was accepted or refused, and every accepted one not cancelled is sold in the truth.
    const accepted = s.channels.storefront.acceptedUnits + s.channels.pos.acceptedUnits + s.channels.marketplace.acceptedUnits;
    const cancelled = s.channels.storefront.cancelledUnits + s.channels.marketplace.cancelledUnits;
    expect(s.sold).toBe(accepted - cancelled);
    const demand = trace.events.reduce((n, e) => n + (e.kind === 'storefront_order' || e.kind === 'pos_sale' || e.kind === 'marketplace_order' ? e.quantity : 0), 0);
    expect(accepted + s.channels.storefront.refusedUnits + s.channels.pos.refusedUnits + s.channels.marketplace.refusedUnits).toBe(demand);
    // The sources saw the POS's pending sales and the ERP's receipts, and the book holds them.
    expect(seen).toContain('pos');
    expect(seen).toContain('erp');
    const book = SourceBook.fromTrace(trace);
    expect(result.sources.erpOnHand).not.toEqual(book.erpOnHand);
    const pending = [...result.sources.posPending.values()].reduce((a, b) => a + b, 0);
    expect(pending).toBe(s.channels.pos.acceptedUnits);
  });
});
