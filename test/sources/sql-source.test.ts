import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors } from '../../src/domain/errors.js';
import { createSources, closeSources } from '../../src/runtime/sources.js';
import type { SourceAdapter } from '../../src/sources/adapter.js';
import { deltaSyncWorkflow } from '../../src/workflows/index.js';
import { createMerchantDb, STOCK_QUERY, stockTableDdl, ts, type MerchantDb } from '../support/merchant-db.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/** `type: sql` against a real PostgreSQL and a real MariaDB: the merchant's own stock table, read as an ERP. */
describe.each(['postgres', 'mysql'] as const)('SQL source on %s', (dialect) => {
  let svc: TestServices;
  let merchant: MerchantDb;
  let adapter: SourceAdapter;
  let sources: SourceAdapter[];
  const id = `sql${dialect.slice(0, 2)}${Date.now().toString(36)}`;
  const shopId = `${id}-shop`;
  const source = `${id}-erp`;
  const envName = `MERCHANT_DB_${id.toUpperCase().replace(/-/g, '_')}`;

  beforeAll(async () => {
    svc = await connectTestServices();
    merchant = await createMerchantDb(dialect);
    await merchant.exec(stockTableDdl(dialect));
    process.env[envName] = merchant.url;
    const config = testConfig({
      inventory_sync: { delta_sync: { batch_size: 2 } },
      shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'UNUSED_TOKEN', webhook_secret_env: 'UNUSED_SECRET' }],
      sources: [{ name: source, role: 'erp', type: 'sql', dialect: dialect === 'mysql' ? 'mariadb' : 'postgres', connection_env: envName, query: STOCK_QUERY, shop: shopId, lookback_seconds: 60 }],
    });
    sources = createSources(config, svc.db);
    adapter = sources[0]!;
    await svc.startWorker(
      svc.activities(config, () => {
        throw new Error('these tests never write to Shopify');
      }),
    );
  });
  afterAll(async () => {
    await closeSources(sources ?? []);
    await svc?.close();
    await merchant?.drop();
    delete process.env[envName];
  });

  const run = (mode: 'delta' | 'full' = 'delta') =>
    svc.temporal.workflow.execute(deltaSyncWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid(`sync-${dialect}`), args: [{ source, mode }] });
  const snapshot = async () =>
    (await svc.db.query<{ sku: string; quantity: number }>('SELECT sku, quantity FROM source_snapshots WHERE source = $1 ORDER BY sku', [source])).rows;
  const put = (sku: string, qty: number, at: string) =>
    merchant.exec(
      dialect === 'postgres'
        ? `INSERT INTO stock VALUES ($1, 'WH1', $2, $3) ON CONFLICT (item_code, warehouse) DO UPDATE SET on_hand = EXCLUDED.on_hand, modified_at = EXCLUDED.modified_at`
        : `INSERT INTO stock VALUES (?, 'WH1', ?, ?) ON DUPLICATE KEY UPDATE on_hand = VALUES(on_hand), modified_at = VALUES(modified_at)`,
      [sku, qty, dialect === 'postgres' ? at : ts(at)],
    );

  it('reads the components of a batch of keys from the merchant table, absent keys left out', async () => {
    await put('TEE', 40, '2026-11-30T08:00:00.000001Z');
    await put('MUG', 12, '2026-11-30T08:00:00.000002Z');
    const ctl = new AbortController();
    const got = await adapter.getComponents(shopId, [{ sku: 'TEE', locationId: 'WH1' }, { sku: 'MUG', locationId: 'WH1' }, { sku: 'GHOST', locationId: 'WH1' }], ctl.signal);
    expect(Object.fromEntries(got)).toEqual({ 'TEE|WH1': 40, 'MUG|WH1': 12 });
    expect((await adapter.getComponents('another-shop', [{ sku: 'TEE', locationId: 'WH1' }], ctl.signal)).size).toBe(0);
  });

  it('delta sync pages the table by updated_at, stores the readings, and a next run re-reads only its lookback window without handing it on again', async () => {
    await put('CAP', 5, '2026-11-30T08:00:01.500000Z');
    // Same second, microseconds apart: the watermark keeps the database's full precision.
    await put('BAG', 6, '2026-11-30T08:00:01.500001Z');
    await put('PEN', 7, '2026-11-30T08:00:01.500002Z');
    const first = await run();
    expect(first).toMatchObject({ read: 5, keysMarked: 5 });
    expect(first.batches).toBeGreaterThanOrEqual(3);
    expect(await snapshot()).toEqual([
      { sku: 'BAG', quantity: 6 },
      { sku: 'CAP', quantity: 5 },
      { sku: 'MUG', quantity: 12 },
      { sku: 'PEN', quantity: 7 },
      { sku: 'TEE', quantity: 40 },
    ]);
    const again = await run();
    expect(again.read).toBeGreaterThan(0); // the lookback window is read again...
    expect(again.keysMarked).toBe(0); // ...and deduplicated against what is stored
  });

  it('catches a row committed late with an updated_at behind the watermark, within the lookback window', async () => {
    await put('NEW', 3, '2026-11-30T08:00:30Z');
    expect(await run()).toMatchObject({ keysMarked: 1 });
    // A transaction that stamped its row at 08:00:10 commits only now: behind the watermark (08:00:30).
    await put('LATE', 9, '2026-11-30T08:00:10Z');
    expect(await run()).toMatchObject({ keysMarked: 1 });
    expect((await snapshot()).find((r) => r.sku === 'LATE')).toEqual({ sku: 'LATE', quantity: 9 });
    expect((await run()).keysMarked).toBe(0);
  });

  it('a changed quantity is handed on once', async () => {
    await put('TEE', 38, '2026-11-30T08:01:00Z');
    expect(await run()).toMatchObject({ keysMarked: 1 });
    expect((await snapshot()).find((r) => r.sku === 'TEE')).toEqual({ sku: 'TEE', quantity: 38 });
  });

  it('full mode pages through the whole table in key order', async () => {
    const ctl = new AbortController();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await adapter.snapshot!(cursor, 2, ctl.signal);
      seen.push(...page.readings.map((r) => r.sku));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['BAG', 'CAP', 'LATE', 'MUG', 'NEW', 'PEN', 'TEE']);
    expect(await run('full')).toMatchObject({ read: 7 });
  });

  it('a row with a quantity Shopify cannot take fails the read, naming the column and the row', async () => {
    await put('NEG', -5, '2026-11-30T09:00:00Z');
    const ctl = new AbortController();
    const read = adapter.getComponents(shopId, [{ sku: 'NEG', locationId: 'WH1' }], ctl.signal);
    await expect(read).rejects.toMatchObject({ code: Errors.SourceFailed.code, message: expect.stringMatching(/sku NEG.*quantity: expected a quantity >= 0/) });
    await merchant.exec(dialect === 'postgres' ? `DELETE FROM stock WHERE item_code = 'NEG'` : `DELETE FROM stock WHERE item_code = 'NEG'`);
  });

  it('a query with a shop column serves several shops: components per shop, and the feed pages ties on updated_at by shop and key', async () => {
    const both = `SELECT 'other-shop' AS shop, item_code AS sku, warehouse AS location, on_hand AS quantity, modified_at AS updated_at FROM stock
                  UNION ALL SELECT '${shopId}' AS shop, item_code AS sku, warehouse AS location, on_hand AS quantity, modified_at AS updated_at FROM stock`;
    const shops = [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'A', webhook_secret_env: 'B' }];
    const multi = createSources(testConfig({ shops, sources: [{ name: 'multi', role: 'erp', type: 'sql', dialect, connection_env: envName, query: both }] }), svc.db);
    try {
      const ctl = new AbortController();
      const tee = await multi[0]!.getComponents('other-shop', [{ sku: 'TEE', locationId: 'WH1' }], ctl.signal);
      expect(Object.fromEntries(tee)).toEqual({ 'TEE|WH1': 38 });
      const seen: string[] = [];
      let cursor: string | null = null;
      for (;;) {
        const page = await multi[0]!.changesSince!(cursor, 3, ctl.signal);
        seen.push(...page.map((c) => `${c.shopId}/${c.sku}`));
        if (page.length < 3) break;
        cursor = page.at(-1)!.cursor;
      }
      const rows = (await adapter.snapshot!(null, 100, ctl.signal)).readings.length;
      expect(seen).toHaveLength(rows * 2);
      expect(new Set(seen).size).toBe(rows * 2);
    } finally {
      await closeSources(multi);
    }
  });

  it('a query slower than request_timeout_ms is cancelled by the database and answers ISYNC_SOURCE_TIMEOUT', async () => {
    const slow =
      dialect === 'postgres'
        ? `SELECT item_code AS sku, warehouse AS location, on_hand AS quantity, modified_at AS updated_at FROM stock, (SELECT pg_sleep(2)) AS s`
        : `SELECT item_code AS sku, warehouse AS location, on_hand AS quantity, modified_at AS updated_at FROM stock WHERE SLEEP(2) = 0`;
    const sources = createSources(
      testConfig({ sources: [{ name: 'slow', role: 'erp', type: 'sql', dialect, connection_env: envName, query: slow, shop: 'x', request_timeout_ms: 300 }], shops: [{ id: 'x', domain: 'x.myshopify.com', access_token_env: 'A', webhook_secret_env: 'B' }] }),
      svc.db,
    );
    try {
      const started = Date.now();
      const err = await sources[0]!.getComponents('x', [{ sku: 'TEE', locationId: 'WH1' }], new AbortController().signal).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: Errors.SourceTimeout.code, message: expect.stringContaining('did not answer within 300 ms') });
      expect(Date.now() - started).toBeLessThan(1900);
    } finally {
      await closeSources(sources);
    }
  });

  it('a broken query is ISYNC_SOURCE_FAILED naming the source and the database, never the password', async () => {
    const broken = createSources(
      testConfig({ sources: [{ name: 'broken', role: 'erp', type: 'sql', dialect: dialect === 'mysql' ? 'mysql' : 'postgres', connection_env: envName, query: 'SELECT nope FROM missing_table', shop: 'x' }], shops: [{ id: 'x', domain: 'x.myshopify.com', access_token_env: 'A', webhook_secret_env: 'B' }] }),
      svc.db,
    );
    try {
      const err = await broken[0]!.getComponents('x', [{ sku: 'A', locationId: 'B' }], new AbortController().signal).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: Errors.SourceFailed.code, message: expect.stringContaining(`source "broken" (${dialect} at`) });
      expect((err as Error).message).toContain('missing_table');
    } finally {
      await closeSources(broken);
    }
  });
});
