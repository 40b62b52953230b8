import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSources, createSources } from '../../src/runtime/sources.js';
import type { SourceAdapter } from '../../src/sources/adapter.js';
import { deltaSyncWorkflow } from '../../src/workflows/index.js';
import { createMerchantDb, type MerchantDb } from '../support/merchant-db.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * `commit_order: true` on PostgreSQL: the merchant's table carries the writing transaction's id (xid8) and the
 * feed is read below pg_snapshot_xmin, so a transaction that commits late is never behind the watermark, with no
 * lookback window at all (lookback_seconds: 0 here).
 */
describe('SQL source on PostgreSQL in commit order', () => {
  let svc: TestServices;
  let merchant: MerchantDb;
  let sources: SourceAdapter[];
  const id = `sqlco${Date.now().toString(36)}`;
  const shopId = `${id}-shop`;
  const source = `${id}-erp`;
  const envName = `MERCHANT_DB_${id.toUpperCase()}`;

  beforeAll(async () => {
    svc = await connectTestServices();
    merchant = await createMerchantDb('postgres');
    await merchant.exec(`CREATE TABLE stock (item_code text NOT NULL, warehouse text NOT NULL, on_hand integer NOT NULL,
      modified_at timestamptz NOT NULL DEFAULT clock_timestamp(), txid xid8 NOT NULL DEFAULT pg_current_xact_id(), PRIMARY KEY (item_code, warehouse))`);
    await merchant.exec(`CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.txid := pg_current_xact_id(); NEW.modified_at := clock_timestamp(); RETURN NEW; END $$`);
    await merchant.exec(`CREATE TRIGGER stock_stamp BEFORE UPDATE ON stock FOR EACH ROW EXECUTE FUNCTION stamp()`);
    process.env[envName] = merchant.url;
    const config = testConfig({
      shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'A', webhook_secret_env: 'B' }],
      sources: [
        {
          name: source,
          role: 'erp',
          type: 'sql',
          dialect: 'postgres',
          connection_env: envName,
          shop: shopId,
          commit_order: true,
          lookback_seconds: 0,
          query: 'SELECT item_code AS sku, warehouse AS location, on_hand AS quantity, modified_at AS updated_at, txid FROM stock',
        },
      ],
    });
    sources = createSources(config, svc.db);
    await svc.startWorker(
      svc.activities(config, () => {
        throw new Error('never writes to Shopify');
      }),
    );
  });
  afterAll(async () => {
    await closeSources(sources ?? []);
    await svc?.close();
    await merchant?.drop();
    delete process.env[envName];
  });

  const run = () => svc.temporal.workflow.execute(deltaSyncWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('sync-co'), args: [{ source, mode: 'delta' }] });

  it('waits for a transaction that is still open, and reads its rows once it commits, although a later one was read first', async () => {
    const early = new pg.Client({ connectionString: merchant.url });
    await early.connect();
    try {
      await early.query('BEGIN');
      // Takes its transaction id (and its modified_at) first...
      await early.query(`INSERT INTO stock (item_code, warehouse, on_hand) VALUES ('LATE', 'WH1', 7)`);
      // ...while another transaction commits a later row.
      await merchant.exec(`INSERT INTO stock (item_code, warehouse, on_hand) VALUES ('EARLY', 'WH1', 3)`);
      expect(await run()).toMatchObject({ read: 0 });
      await early.query('COMMIT');
    } finally {
      await early.end();
    }
    expect(await run()).toMatchObject({ read: 2, keysMarked: 2 });
    expect(await run()).toMatchObject({ read: 0 });
    await merchant.exec(`UPDATE stock SET on_hand = 6 WHERE item_code = 'LATE'`);
    expect(await run()).toMatchObject({ read: 1, keysMarked: 1 });
    const { rows } = await svc.db.query('SELECT sku, quantity FROM source_snapshots WHERE source = $1 ORDER BY sku', [source]);
    expect(rows).toEqual([
      { sku: 'EARLY', quantity: 3 },
      { sku: 'LATE', quantity: 6 },
    ]);
  });

  it('commit_order is refused for MySQL and MariaDB, naming the field', () => {
    expect(() =>
      testConfig({ sources: [{ name: 'x', role: 'erp', type: 'sql', dialect: 'mariadb', connection_env: 'X', query: 'SELECT 1', commit_order: true }] }),
    ).toThrow(/commit_order[\s\S]*only for dialect: postgres/);
  });
});
