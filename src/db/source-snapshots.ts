import type { Db } from './pool.js';
import { changeColumns } from './source-changes.js';
import type { SourceChange, SourceReading } from '../sources/adapter.js';

type KeyRow = { shop_id: string; sku: string; location_id: string };
const toKey = (r: KeyRow) => ({ shopId: r.shop_id, sku: r.sku, locationId: r.location_id });

/**
 * Stores a pulled change feed's changes as the source's snapshot (newest `occurred_at` wins, so a WMS total
 * converts confirmed allocations through the snapshot trigger however it arrived) and returns the keys whose
 * change was news: a change the snapshot already holds (a lookback window read again) is dropped.
 * A stored reading dated beyond the clock-skew allowance never blocks a newer one.
 */
export async function storeNewerChanges(db: Pick<Db, 'query'>, source: string, changes: SourceChange[], maxSkewSeconds: number): Promise<{ shopId: string; sku: string; locationId: string }[]> {
  if (changes.length === 0) return [];
  const { rows } = await db.query<KeyRow>(
    `WITH incoming AS (
       SELECT DISTINCT ON (shop_id, sku, location_id) *
         FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[]) WITH ORDINALITY AS r(shop_id, sku, location_id, quantity, occurred_at, ord)
        ORDER BY shop_id, sku, location_id, occurred_at DESC, ord DESC
     )
     INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at)
     SELECT $1, shop_id, sku, location_id, quantity, occurred_at FROM incoming
     ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
       SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, updated_at = now()
       WHERE s.occurred_at < EXCLUDED.occurred_at
          OR (s.occurred_at = EXCLUDED.occurred_at AND s.quantity <> EXCLUDED.quantity)
          OR s.occurred_at > now() + make_interval(secs => $7)
     RETURNING s.shop_id, s.sku, s.location_id`,
    [source, ...changeColumns(changes), maxSkewSeconds],
  );
  return rows.map(toKey);
}

/** Readings that differ from what we last saw of this source; stores the new ones as the source's snapshot. */
export async function storeChangedReadings(db: Pick<Db, 'query'>, source: string, readings: SourceReading[]): Promise<SourceReading[]> {
  if (readings.length === 0) return [];
  const { rows } = await db.query<KeyRow>(
    `WITH incoming AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS r(shop_id, sku, location_id, quantity)
     ), upserted AS (
       INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at)
       SELECT $1, i.shop_id, i.sku, i.location_id, i.quantity, now() FROM incoming i
       ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
         SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, updated_at = now()
         WHERE s.quantity IS DISTINCT FROM EXCLUDED.quantity
       RETURNING s.shop_id, s.sku, s.location_id
     ) SELECT * FROM upserted`,
    [source, readings.map((r) => r.shopId), readings.map((r) => r.sku), readings.map((r) => r.locationId), readings.map((r) => r.quantity)],
  );
  return rows.map((r) => ({ ...toKey(r), quantity: 0 }));
}
