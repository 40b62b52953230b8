import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { deltaSyncWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * A bad row never stops a source: one 1,200-character shopId used to fail every sync attempt ("WorkflowId length
 * exceeds limit") so the watermark never moved again, and rows for unknown shops started refresh workflows that
 * never ended. They are audited and skipped; the watermark moves past them.
 */
describe('delta sync with bad rows', () => {
  let svc: TestServices;
  const id = `bad${Date.now().toString(36)}`;
  const shopId = `${id}-shop`;
  const otherShop = `${id}-other`;
  const source = `${id}-erp`;

  beforeAll(async () => {
    svc = await connectTestServices();
    const config = testConfig({
      shops: [
        { id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'BAD_TOKEN', webhook_secret_env: 'BAD_SECRET' },
        { id: otherShop, domain: `${otherShop}.myshopify.com`, access_token_env: 'OTHER_TOKEN', webhook_secret_env: 'OTHER_SECRET' },
      ],
      sources: [{ name: source, role: 'erp', type: 'postgres', shops: [shopId] }],
    });
    await svc.startWorker(svc.activities(config, () => {
      throw new Error('delta sync never talks to Shopify');
    }));
  });
  afterAll(async () => {
    await svc?.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('test over').catch(() => undefined);
    await svc?.close();
  });

  it('audits and skips an overlong id, a location code with "|", an unknown shop and a shop the source is not bound to; the good rows go on and the watermark moves past all', async () => {
    const at = new Date().toISOString();
    const row = (shop: string, sku: string, locationId = 'WH1') => ({ shopId: shop, sku, locationId, quantity: 4, occurredAt: at });
    await recordSourceChanges(svc.db, source, [
      row(shopId, 'GOOD-1'), row('x'.repeat(1200), 'LONG'), row('nobody', 'UNKNOWN'), row(otherShop, 'NOT-BOUND'), row(shopId, 'S'.repeat(300)),
      // A location code with the key separator: SKU "GOOD|WH1" at "WH1" and SKU "GOOD" at "WH1|WH1" would be one key.
      row(shopId, 'SEPARATOR', 'WH1|WH1'), row(shopId, 'GOOD-2'),
    ]);
    const run = () =>
      svc.temporal.workflow.execute(deltaSyncWorkflow, {
        taskQueue: svc.taskQueue,
        workflowId: svc.uid('bad-rows'),
        args: [{ source, mode: 'delta' }],
        // On the old code the batch failed and was retried forever: bound it so the test fails instead of hanging.
        workflowExecutionTimeout: '30 seconds',
      });
    // The feed is read in commit order, below the oldest open transaction of the cluster (other runs share it):
    // run until it has been read.
    const total = { read: 0, keysMarked: 0, rejected: 0 };
    const deadline = Date.now() + 20_000;
    while (total.read < 7 && Date.now() < deadline) {
      const p = await run();
      total.read += p.read;
      total.keysMarked += p.keysMarked;
      total.rejected += p.rejected ?? 0;
      if (total.read < 7) await new Promise((r) => setTimeout(r, 200));
    }
    expect(total).toEqual({ read: 7, keysMarked: 2, rejected: 5 });

    const { rows: last } = await svc.db.query<{ c: string }>(`SELECT xid::text || ':' || cursor::text AS c FROM source_changes WHERE source = $1 ORDER BY xid DESC, cursor DESC LIMIT 1`, [source]);
    const { rows: mark } = await svc.db.query<{ cursor: string }>('SELECT cursor FROM watermarks WHERE source = $1', [source]);
    expect(mark[0]?.cursor).toBe(last[0]?.c);

    const { rows: audit } = await svc.db.query<{ shop_id: string; sku: string; outcome: string; error_code: string }>(
      `SELECT shop_id, sku, outcome, error_code FROM audit_log WHERE trigger = $1 ORDER BY id`,
      [`delta_sync:${source}`],
    );
    expect(audit.map((a) => [a.outcome, a.error_code, a.sku.slice(0, 9)])).toEqual([
      ['rejected', 'ISYNC_PAYLOAD_INVALID', 'LONG'],
      ['rejected', 'ISYNC_FORBIDDEN', 'UNKNOWN'],
      ['rejected', 'ISYNC_FORBIDDEN', 'NOT-BOUND'],
      ['rejected', 'ISYNC_PAYLOAD_INVALID', 'SSSSSSSSS'],
      ['rejected', 'ISYNC_PAYLOAD_INVALID', 'SEPARATOR'],
    ]);
    expect(audit[0]!.shop_id.length).toBeLessThan(100);

    // Only the configured, bound shop got a refresh workflow.
    const refreshes: string[] = [];
    for await (const wf of svc.temporal.workflow.list({ query: `WorkflowType = 'shopRefreshWorkflow' AND TaskQueue = '${svc.taskQueue}'` })) refreshes.push(wf.workflowId);
    expect(refreshes).toEqual([`refresh:${shopId}`]);
  });
});
