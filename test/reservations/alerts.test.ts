import { describe, expect, inject, it } from 'vitest';
import { syncShopifyAdjustments } from '../../src/activities/order-shopify-adjust.js';
import { raiseAlert } from '../../src/alerts/raise.js';
import { createPool } from '../../src/db/pool.js';
import { seedCatalog } from '../../src/demo/seed-catalog.js';
import { createShopifyClient } from '../../src/shopify/client/index.js';
import { insertClaim } from '../refresh/fixture.js';
import { useServicesAndEmulator } from '../support/services.js';

/**
 * Alerts on the order-adjustment path (orders from channels Shopify does not count): a line with no mapping, and a
 * line Shopify refuses to adjust; and alerts raised by several activities at the same moment.
 */
describe('alerts', () => {
  const services = useServicesAndEmulator();

  async function shop(available: number) {
    const shopId = services.svc.uid('al');
    const domain = `${shopId}.myshopify.com`;
    await seedCatalog(services.emu.emulator, services.svc.db, { shopId, domain, accessToken: `tok-${shopId}`, locations: ['WH1'], skus: ['MAPPED'], initialAvailable: () => available });
    const client = createShopifyClient({ shopDomain: domain, accessToken: `tok-${shopId}`, baseUrl: services.emu.url, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    const alerts = async () =>
      (await services.svc.db.query<{ kind: string; subject: string; details: Record<string, unknown> }>('SELECT kind, subject, details FROM alerts WHERE shop_id = $1 ORDER BY id', [shopId])).rows;
    return { shopId, deps: { db: services.svc.db, shopify: () => client }, alerts };
  }

  it('an order line whose SKU has no mapping raises unmapped_order_line once, and the mapped lines still go to Shopify', async () => {
    const s = await shop(10);
    await insertClaim(services.svc, s.shopId, 'ext:oms:1', 'MAPPED', 'WH1', 2);
    await insertClaim(services.svc, s.shopId, 'ext:oms:1', 'NO-SUCH-SKU', 'WH1', 1);
    await syncShopifyAdjustments(s.deps, { shopId: s.shopId, orderId: 'ext:oms:1', release: false });
    await syncShopifyAdjustments(s.deps, { shopId: s.shopId, orderId: 'ext:oms:1', release: false });

    expect(await s.alerts()).toEqual([{ kind: 'unmapped_order_line', subject: 'ext:oms:1', details: { lines: [{ lineId: 'ext:oms:1-NO-SUCH-SKU-WH1', sku: 'NO-SUCH-SKU', locationId: 'WH1' }], count: 1 } }]);
    const lines = (await services.svc.db.query('SELECT sku, shopify_adjusted FROM claim_lines WHERE shop_id = $1 ORDER BY sku', [s.shopId])).rows;
    expect(lines).toEqual([
      { sku: 'MAPPED', shopify_adjusted: 2 },
      { sku: 'NO-SUCH-SKU', shopify_adjusted: 0 },
    ]);
  });

  it('an order of many unmapped lines raises one alert, not one per line (a channel token could flood the alerts)', async () => {
    const s = await shop(10);
    for (let i = 0; i < 30; i++) await insertClaim(services.svc, s.shopId, 'ext:oms:7', `GHOST-${i}`, 'WH1', 1);
    await syncShopifyAdjustments(s.deps, { shopId: s.shopId, orderId: 'ext:oms:7', release: false });
    const alerts = await s.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'unmapped_order_line', subject: 'ext:oms:7', details: { count: 30 } });
    expect((alerts[0]!.details.lines as unknown[]).length).toBe(20);
  });

  it('a line Shopify refuses to adjust (available would go below zero) raises order_adjust_refused once and is not marked adjusted', async () => {
    const s = await shop(1);
    await insertClaim(services.svc, s.shopId, 'ext:oms:2', 'MAPPED', 'WH1', 5);
    await syncShopifyAdjustments(s.deps, { shopId: s.shopId, orderId: 'ext:oms:2', release: false });
    await syncShopifyAdjustments(s.deps, { shopId: s.shopId, orderId: 'ext:oms:2', release: false });

    const alerts = await s.alerts();
    expect(alerts.map((a) => [a.kind, a.subject])).toEqual([['order_adjust_refused', 'ext:oms:2/ext:oms:2-MAPPED-WH1']]);
    expect(alerts[0]!.details).toMatchObject({ delta: -5 });
    const line = (await services.svc.db.query('SELECT shopify_adjusted FROM claim_lines WHERE shop_id = $1', [s.shopId])).rows[0];
    expect(line.shopify_adjusted).toBe(0);
  });

  it('a refused line is alerted without a second connection while the adjustment holds one: a one-connection pool does not hang', async () => {
    // As many adjustments refused at once as the pool has connections: each held its transaction's connection and
    // waited for another to raise its alert, so none returned (2,000 channel orders at once in bench/ingest).
    // A pool of one connection is that interleaving for certain.
    const s = await shop(1);
    await insertClaim(services.svc, s.shopId, 'ext:oms:3', 'MAPPED', 'WH1', 5);
    const one = createPool(inject('databaseUrl'), 1);
    try {
      const done = syncShopifyAdjustments({ ...s.deps, db: one }, { shopId: s.shopId, orderId: 'ext:oms:3', release: false }).then(() => 'returned' as const);
      const hung = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref());
      expect(await Promise.race([done, hung])).toBe('returned');
    } finally {
      await one.end();
    }
    expect((await s.alerts()).map((a) => [a.kind, a.subject])).toEqual([['order_adjust_refused', 'ext:oms:3/ext:oms:3-MAPPED-WH1']]);
  });

  it('the same alert raised by two activities at the same moment is stored once, and only one of them is told it raised it', async () => {
    const s = await shop(0);
    const alert = { kind: 'reservation_expired' as const, shopId: s.shopId, subject: 'order-9', details: { claimed: 1 } };
    // The first raise is inside a transaction that has not committed yet when the second one runs: the second
    // cannot see its row, only the unique index can stop it.
    const first = await services.svc.db.connect();
    try {
      await first.query('BEGIN');
      expect(await raiseAlert(first, alert)).toBe(true);
      const second = raiseAlert(services.svc.db, alert);
      let settled = false;
      void second.finally(() => (settled = true));
      const blocked = async () => {
        while (!settled) {
          const { rows } = await services.svc.db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO alerts%'`);
          if (rows.length > 0) return 'blocked' as const;
          await new Promise((r) => setTimeout(r, 10));
        }
        return 'done' as const;
      };
      // Either the second raise waits on the first one's row (then the first commits), or it went through.
      await Promise.race([second.then(() => 'done' as const), blocked()]);
      await first.query('COMMIT');
      expect(await second).toBe(false);
    } finally {
      first.release();
    }
    expect(await s.alerts()).toHaveLength(1);
  });
});
