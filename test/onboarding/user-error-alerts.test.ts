import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCatalog } from '../../src/demo/seed-catalog.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * Issue 11: a write Shopify refuses with a user error (here INVALID_LOCATION, from a mapping to a location the
 * shop does not have) raised no alert: it showed in audit_log only. Now an alert and the isync_alerts metric.
 */
describe('Shopify user errors on writes', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let app: FastifyInstance;
  const shopId = `uerr-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const env = { UERR_TOKEN: 'shpat-uerr', UERR_SECRET: 's', UERR_ERP: 'erp-token', UERR_OPERATOR: 'operator-token' };
  const config = testConfig({
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, aggregation: { coalesce_window_ms: 20 } },
    shops: [{ id: shopId, domain, access_token_env: 'UERR_TOKEN', webhook_secret_env: 'UERR_SECRET' }],
    sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres', token_env: 'UERR_ERP' }],
    operator: { token_env: 'UERR_OPERATOR' },
  });

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0, logger: false });
    await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: env.UERR_TOKEN, locations: ['WH1'], skus: ['TEE', 'MUG'] });
    // A mapping that went wrong: Shopify has no such location.
    await svc.db.query(`UPDATE mappings SET shopify_location_id = 'gid://shopify/Location/999999' WHERE shop_id = $1 AND sku = 'MUG'`, [shopId]);
    await svc.startWorker(svc.activities(config, createShopifyClients(config, { baseUrl: emu.url, env })));
    app = buildHttpServer({ db: svc.db, redis: svc.redis, config, temporal: svc.temporal, taskQueue: svc.taskQueue, metrics: createMetrics(), logger: createLogger('silent'), env });
  });
  afterAll(async () => {
    await svc?.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('test over').catch(() => undefined);
    await app?.close();
    await svc?.close();
    await emu?.close();
  });

  it('raises one alert per key and code, counted in isync_alerts{kind="shopify_user_error"}', async () => {
    const post = (quantity: number) =>
      app.inject({
        method: 'POST',
        url: `/sources/${shopId}-erp/events`,
        headers: { authorization: `Bearer ${env.UERR_ERP}` },
        payload: { events: ['TEE', 'MUG'].map((sku) => ({ shopId, sku, locationId: 'WH1', quantity, occurredAt: new Date().toISOString() })) },
      });
    expect((await post(10)).statusCode).toBe(202);
    const alerts = async () => (await svc.db.query(`SELECT subject, details->>'code' AS code FROM alerts WHERE kind = 'shopify_user_error' AND shop_id = $1`, [shopId])).rows;
    await expect.poll(alerts, { timeout: 20_000 }).toEqual([{ subject: 'INVALID_LOCATION:MUG@WH1', code: 'INVALID_LOCATION' }]);
    // The good key in the same write went through.
    const tee = (await svc.db.query(`SELECT outcome FROM audit_log WHERE shop_id = $1 AND sku = 'TEE' AND outcome = 'applied'`, [shopId])).rows;
    expect(tee.length).toBeGreaterThan(0);
    // Again: the audit log grows, the alert does not repeat.
    expect((await post(11)).statusCode).toBe(202);
    await expect.poll(async () => (await svc.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE shop_id = $1 AND sku = 'MUG' AND outcome = 'error'`, [shopId])).rows[0].n, { timeout: 20_000 }).toBe(2);
    expect(await alerts()).toHaveLength(1);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${env.UERR_OPERATOR}` } });
    expect(metrics.body).toMatch(/isync_alerts\{kind="shopify_user_error"\} [1-9]/);
  });
});
