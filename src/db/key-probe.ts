/**
 * A per-key lookup for a batch of keys given as arrays (`unnest(...) AS k(sku, location_id)`): the body of a
 * `JOIN LATERAL (...)` that reads the one row of `table` for `(shop, k.sku, k.location_id)` through its unique index.
 *
 * Why not `table JOIN unnest(...) USING (sku, location_id)`: with the arrays bound, PostgreSQL estimates the unnest
 * at its real length, and for a batch of a thousand keys it prefers hashing every row of the shop in `table` to a
 * thousand index probes. That read grows with the catalogue (at 100,000 mappings: ~60 ms a call against ~6 ms for the
 * probes; the refresh reads mappings and every source's snapshots per flush). `LIMIT 1` keeps the planner from
 * flattening the LATERAL back into that join; the lookup is by a unique key, so it drops nothing.
 */
export function probe(table: 'mappings' | 'source_snapshots', shop: string, extra?: string): string {
  const where = [`shop_id = ${shop}`, 'sku = k.sku', 'location_id = k.location_id', ...(extra ? [extra] : [])].join(' AND ');
  return `SELECT * FROM ${table} WHERE ${where} LIMIT 1`;
}
