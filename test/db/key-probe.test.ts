import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/pool.js';
import { mappedKeys, shopifyMappingsOf } from '../../src/db/mappings.js';
import { heldForShopifyOrders } from '../../src/db/claims.js';
import { claimsAndStoredReadings } from '../../src/sources/components.js';
import { PostgresSnapshotSource } from '../../src/sources/postgres-snapshots.js';
import { connectTestServices, type TestServices } from '../support/services.js';

/**
 * The per-flush reads of a batch of keys must cost index probes for the batch, not a read of the whole catalogue:
 * a join of `mappings` with the unnested keys was planned as a hash of every mapping of the shop (60 ms per
 * 1,000-key flush at 100,000 mappings, growing with the shop). The plans are asked of the real PostgreSQL, with the
 * statement and parameters each function sends, on a shop large enough for the planner to prefer the hash.
 */
describe('batch key reads probe the index, whatever the shop size', () => {
  let svc: TestServices;
  const shopId = `probe-${Date.now().toString(36)}`;
  const SKUS = 4_000;
  const LOCATIONS = 5;
  beforeAll(async () => {
    svc = await connectTestServices();
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
    await svc.db.query(
      `INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id)
       SELECT $1, 'SKU-' || (i / $2), 'L' || (i % $2), 'gid://shopify/InventoryItem/' || i, 'gid://shopify/Location/' || (i % $2)
         FROM generate_series(0, $3 - 1) AS i`,
      [shopId, LOCATIONS, SKUS * LOCATIONS],
    );
    await svc.db.query(
      `INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at)
       SELECT $1, shop_id, sku, location_id, 5, now() FROM mappings WHERE shop_id = $2`,
      [`${shopId}-erp`, shopId],
    );
    // One Shopify order per mapping, each holding 2 units there (the busiest shop the tests make).
    await svc.db.query(
      `INSERT INTO reservations (shop_id, order_id, origin, state, workflow_id)
       SELECT $1, 'o' || i, 'shopify', 'claimed', 'w' || i FROM generate_series(0, $2 - 1) AS i`,
      [shopId, SKUS * LOCATIONS],
    );
    await svc.db.query(
      `INSERT INTO claim_lines (shop_id, order_id, line_id, sku, location_id, claimed)
       SELECT $1, 'o' || (row_number() OVER () - 1), 'l1', sku, location_id, 2 FROM mappings WHERE shop_id = $1`,
      [shopId],
    );
    await svc.db.query('ANALYZE mappings');
    await svc.db.query('ANALYZE source_snapshots');
    await svc.db.query('ANALYZE claim_lines');
    await svc.db.query('ANALYZE reservations');
  });
  afterAll(async () => {
    await svc?.db.query('DELETE FROM source_snapshots WHERE shop_id = $1', [shopId]);
    await svc?.db.query('DELETE FROM claim_lines WHERE shop_id = $1', [shopId]);
    await svc?.db.query('DELETE FROM reservations WHERE shop_id = $1', [shopId]);
    await svc?.db.query('DELETE FROM shops WHERE id = $1', [shopId]);
    await svc?.close();
  });

  /** Runs `read` against a Db that records the one statement it sends, then asks PostgreSQL for its plan. */
  async function planOf(read: (db: Pick<Db, 'query'>) => Promise<unknown>): Promise<string> {
    const sent: { text: string; values: unknown[] }[] = [];
    const recording = {
      query: (text: string, values?: unknown[]) => {
        sent.push({ text, values: values ?? [] });
        return svc.db.query(text, values);
      },
    } as Pick<Db, 'query'>;
    await read(recording);
    expect(sent).toHaveLength(1);
    const { rows } = await svc.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sent[0]!.text}`, sent[0]!.values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  const batch = Array.from({ length: 1_000 }, (_, i) => ({ sku: `SKU-${(i * 7) % SKUS}`, locationId: `L${i % LOCATIONS}` }));

  it('the Shopify mappings of a 1,000-key flush', async () => {
    const plan = await planOf((db) => shopifyMappingsOf(db, shopId, batch));
    expect(plan).toMatch(/Index (Only )?Scan using mappings_pkey/);
    expect(plan).not.toMatch(/Seq Scan on mappings|Hash Join/);
    const found = await shopifyMappingsOf(svc.db, shopId, [...batch, { sku: 'NOPE', locationId: 'L0' }]);
    expect(found.size).toBe(new Set(batch.map((k) => `${k.sku}|${k.locationId}`)).size);
    expect(found.get('SKU-7|L1')).toEqual({ inventoryItemId: 'gid://shopify/InventoryItem/36', shopifyLocationId: 'gid://shopify/Location/1' });
  });

  it('which keys of a group of events are mapped', async () => {
    const keys = batch.map((k) => ({ shopId, ...k }));
    const plan = await planOf((db) => mappedKeys(db, keys));
    expect(plan).not.toMatch(/Seq Scan on mappings|Hash Join/);
    expect((await mappedKeys(svc.db, [...keys, { shopId, sku: 'NOPE', locationId: 'L0' }])).size).toBe(new Set(batch.map((k) => `${k.sku}|${k.locationId}`)).size);
  });

  it("a source's stored readings of a 1,000-key flush", async () => {
    const plan = await planOf((db) => new PostgresSnapshotSource(`${shopId}-erp`, 'erp', db as Db).getComponents(shopId, batch));
    expect(plan).not.toMatch(/Seq Scan on source_snapshots|Hash Join/);
    const components = await new PostgresSnapshotSource(`${shopId}-erp`, 'erp', svc.db).getComponents(shopId, batch.slice(0, 3));
    expect([...components.values()]).toEqual([5, 5, 5]);
  });

  it("what our Shopify-order claims hold at each key of a 1,000-key flush", async () => {
    const plan = await planOf((db) => heldForShopifyOrders(db, shopId, batch));
    expect(plan).toMatch(/Index Scan using claim_lines_held/);
    expect(plan).not.toMatch(/Seq Scan on (claim_lines|reservations)|Hash Join/);
    const held = await heldForShopifyOrders(svc.db, shopId, [...batch.slice(0, 3), { sku: 'NOPE', locationId: 'L0' }]);
    expect([...held.values()]).toEqual([2, 2, 2]);
  });

  it("the claims and the stored sources' readings of a 1,000-key flush, in one statement", async () => {
    const plan = await planOf((db) => claimsAndStoredReadings(db, shopId, batch, [`${shopId}-erp`, `${shopId}-wms`]));
    expect(plan).not.toMatch(/Seq Scan on (source_snapshots|claim_lines)|Hash Join/);
    // Each reading a LIMIT 1 probe: the planner cannot turn it into a read of every row, even on a table not
    // analysed since it was filled (bench/refresh's cold start doubled with a plain join on source = ANY(...)).
    expect(plan).toMatch(/Limit [^\n]*\n\s+->\s+Index (Only )?Scan using source_snapshots/);
    const read = await claimsAndStoredReadings(svc.db, shopId, batch.slice(0, 3), [`${shopId}-erp`, `${shopId}-wms`]);
    expect([...read.readings.get(`${shopId}-erp`)!.values()]).toEqual([5, 5, 5]);
    expect(read.readings.get(`${shopId}-wms`)!.size).toBe(0);
    expect([...read.claims.values()]).toEqual([2, 2, 2]);
  });
});
