import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PruneResult } from '../../src/activities/housekeeping.js';
import { formatProblems, parseConfig } from '../../src/config/load.js';
import { workflowIds } from '../../src/domain/keys.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

const DAY = 86_400_000;

describe('retention: the housekeeping workflow deletes what is past inventory_sync.retention, and nothing else', () => {
  let svc: TestServices;
  let shopId: string;
  const ago = (days: number) => new Date(Date.now() - days * DAY);

  beforeAll(async () => {
    svc = await connectTestServices();
    shopId = svc.uid('ret');
    const config = testConfig({
      inventory_sync: { retention: { source_changes_days: 30, audit_log_days: 90, webhook_deliveries_days: 14, unmapped_snapshots_days: 30, alerts_days: 180, confirmations_without_order_days: 30 } },
      shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'RET_TOKEN', webhook_secret_env: 'RET_SECRET' }],
      sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres' }],
    });
    await svc.startWorker(svc.activities(config, createShopifyClients(config, { baseUrl: 'http://127.0.0.1:9', env: { RET_TOKEN: 't' } })));
    await svc.db.query(`INSERT INTO shops (id, domain) VALUES ($1, $2)`, [shopId, `${shopId}.myshopify.com`]);
    await svc.db.query(`INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id) VALUES ($1, 'MAPPED', 'WH1', '1', '1')`, [shopId]);
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('deletes old changes, audit rows, settled deliveries, unmapped readings and alerts; keeps recent rows, pending deliveries and every mapped reading', async () => {
    const source = `${shopId}-erp`;
    const change = (sku: string, received: Date) =>
      svc.db.query(`INSERT INTO source_changes (source, shop_id, sku, location_id, quantity, occurred_at, received_at) VALUES ($1, $2, $3, 'WH1', 1, $4, $4)`, [source, shopId, sku, received]);
    await change('OLD-CHANGE', ago(40));
    await change('NEW-CHANGE', ago(20));
    const audit = (sku: string, at: Date) => svc.db.query(`INSERT INTO audit_log (at, shop_id, sku, location_id, trigger, outcome) VALUES ($1, $2, $3, 'WH1', 'test', 'written')`, [at, shopId, sku]);
    await audit('OLD-AUDIT', ago(100));
    await audit('NEW-AUDIT', ago(80));
    const delivery = (id: string, received: Date, outcome: string) =>
      svc.db.query(`INSERT INTO webhook_deliveries (webhook_id, shop_domain, topic, received_at, outcome) VALUES ($1, $2, 'orders/create', $3, $4)`, [`${shopId}-${id}`, `${shopId}.myshopify.com`, received, outcome]);
    await delivery('old', ago(20), 'accepted');
    await delivery('old-pending', ago(20), 'pending');
    await delivery('new', ago(2), 'accepted');
    const reading = (sku: string, updated: Date) =>
      svc.db.query(`INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at, updated_at) VALUES ($1, $2, $3, 'WH1', 5, $4, $4)`, [source, shopId, sku, updated]);
    await reading('MAPPED', ago(400));
    await reading('GHOST-OLD', ago(40));
    await reading('GHOST-NEW', ago(5));
    const alert = (subject: string, at: Date) =>
      svc.db.query(`INSERT INTO alerts (at, kind, shop_id, subject, details) VALUES ($1, 'drift', $2, $3, '{}')`, [at, shopId, subject]);
    await alert('OLD-ALERT', ago(200));
    await alert('NEW-ALERT', ago(100));
    // WMS confirmations: of an order that never came (old, recent) and of an order we know (old).
    const confirmation = (orderId: string, received: Date) =>
      svc.db.query(
        `INSERT INTO wms_allocations (shop_id, order_id, allocation_id, line_id, source, sku, location_id, quantity, occurred_at, received_at)
         VALUES ($1, $2, 'a1', 'l1', 'wms', 'MAPPED', 'WH1', 1, $3, $3)`,
        [shopId, orderId, received],
      );
    await confirmation('NEVER-OLD', ago(40));
    await confirmation('NEVER-NEW', ago(20));
    await confirmation('KNOWN-OLD', ago(40));
    await svc.db.query(`INSERT INTO reservations (shop_id, order_id, origin, state, workflow_id) VALUES ($1, 'KNOWN-OLD', 'shopify', 'claimed', 'wf')`, [shopId]);

    const result = await svc.temporal.workflow.execute('housekeepingWorkflow', { taskQueue: svc.taskQueue, workflowId: `${workflowIds.housekeeping}-${shopId}`, args: [] }) as PruneResult;
    expect(result.deleted.source_changes).toBeGreaterThanOrEqual(1);
    expect(result.deleted.audit_log).toBeGreaterThanOrEqual(1);
    expect(result.deleted.webhook_deliveries).toBeGreaterThanOrEqual(1);
    expect(result.deleted.unmapped_snapshots).toBeGreaterThanOrEqual(1);
    expect(result.deleted.alerts).toBeGreaterThanOrEqual(1);
    expect(result.deleted.confirmations_without_order).toBeGreaterThanOrEqual(1);
    expect(Date.parse(result.before.audit_log)).toBeLessThan(ago(89).getTime());

    const skus = async (sql: string) => (await svc.db.query<{ v: string }>(sql, [shopId])).rows.map((r) => r.v).sort();
    expect(await skus(`SELECT sku AS v FROM source_changes WHERE shop_id = $1`)).toEqual(['NEW-CHANGE']);
    expect(await skus(`SELECT sku AS v FROM audit_log WHERE shop_id = $1`)).toEqual(['NEW-AUDIT']);
    expect(await skus(`SELECT webhook_id AS v FROM webhook_deliveries WHERE shop_domain = $1 || '.myshopify.com'`)).toEqual([`${shopId}-new`, `${shopId}-old-pending`]);
    expect(await skus(`SELECT sku AS v FROM source_snapshots WHERE shop_id = $1`)).toEqual(['GHOST-NEW', 'MAPPED']);
    // The housekeeping run alerted both orders that never came before it deleted the older one's confirmation.
    expect(await skus(`SELECT subject AS v FROM alerts WHERE shop_id = $1`)).toEqual(['NEVER-NEW', 'NEVER-OLD', 'NEW-ALERT']);
    expect(await skus(`SELECT order_id AS v FROM wms_allocations WHERE shop_id = $1`)).toEqual(['KNOWN-OLD', 'NEVER-NEW']);
  });

  it('a configuration with a retention under one day is refused, naming the field', () => {
    const { config, problems } = parseConfig('inventory_sync:\n  retention:\n    audit_log_days: 0\n');
    expect(config).toBeUndefined();
    expect(formatProblems(problems)).toMatch(/inventory_sync\.retention\.audit_log_days.*expected at least 1 day of audit rows/);
  });
});
