import { describe, expect, it } from 'vitest';
import { syncShopifyAdjustments } from '../../src/activities/order-shopify-adjust.js';
import { seedCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClient } from '../../src/shopify/client/index.js';
import { insertClaim } from '../refresh/fixture.js';
import { useServicesAndEmulator } from '../support/services.js';

/**
 * The Shopify adjustment of an order from another channel, when an attempt stalls right before it sends and its
 * retry runs meanwhile (the order's claim grew in between): the two must not both subtract. Deltas are computed
 * from what is committed, one adjustment of an order at a time.
 */
describe("an order's Shopify adjustment when an abandoned attempt resumes late", () => {
  const services = useServicesAndEmulator();

  it('the retry waits for the stalled attempt, then sends only what is left: Shopify is lowered by the claim once', async () => {
    const { svc, emu } = services;
    const shopId = svc.uid('adj');
    const domain = `${shopId}.myshopify.com`;
    const catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: `tok-${shopId}`, locations: ['WH1'], skus: ['TEE'], initialAvailable: () => 10 });
    const client = createShopifyClient({ shopDomain: domain, accessToken: `tok-${shopId}`, baseUrl: emu.url, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    const orderId = 'ext:oms:7';
    await insertClaim(svc, shopId, orderId, 'TEE', 'WH1', 3);

    let reached!: () => void;
    const stalled = new Promise<void>((resolve) => (reached = resolve));
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const first = syncShopifyAdjustments(
      {
        db: svc.db,
        shopify: () => client,
        adjustRacePoints: {
          beforeSend: async () => {
            reached();
            await woken;
          },
        },
      },
      { shopId, orderId, release: false },
    );
    await stalled;
    // Meanwhile the order grows to 5 units and Temporal's retry of the adjustment runs.
    await insertClaim(svc, shopId, orderId, 'TEE', 'WH1', 5);
    const retry = syncShopifyAdjustments({ db: svc.db, shopify: () => client }, { shopId, orderId, release: false });
    let retryDone = false;
    void retry.finally(() => (retryDone = true));
    // The retry either waits for the stalled attempt's adjustment (seen waiting on its lock), or it went through.
    while (!retryDone) {
      const { rows } = await svc.db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    wake();
    await first;
    await retry;

    const ids = catalog.ids.get('TEE|WH1')!;
    expect(emu.emulator.getLevel(domain, ids.inventoryItemId, ids.locationId).available).toBe(5);
    const line = (await svc.db.query('SELECT claimed, shopify_adjusted FROM claim_lines WHERE shop_id = $1 AND order_id = $2', [shopId, orderId])).rows[0];
    expect(line).toEqual({ claimed: 5, shopify_adjusted: 5 });
  });
});
