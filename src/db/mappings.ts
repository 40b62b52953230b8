import { Errors } from '../domain/errors.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { probe } from './key-probe.js';
import { countOf, inTransaction, type Db } from './pool.js';

type ShopKey = { shopId: string; sku: string; locationId: string };

/** The string form of a shop's (sku, location) in the set `mappedKeys` returns. */
export function mappedKeyString(k: ShopKey): string {
  return `${k.shopId}|${k.sku}|${k.locationId}`;
}

/** Which of these keys have a mapping to a Shopify item and location (unknown shops have none), by `mappedKeyString`. */
export async function mappedKeys(db: Pick<Db, 'query'>, keys: ShopKey[]): Promise<Set<string>> {
  const { rows } = await db.query<{ shop_id: string; sku: string; location_id: string }>(
    `SELECT m.shop_id, m.sku, m.location_id
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(shop_id, sku, location_id)
       JOIN LATERAL (${probe('mappings', 'k.shop_id')}) m ON true`,
    [keys.map((e) => e.shopId), keys.map((e) => e.sku), keys.map((e) => e.locationId)],
  );
  return new Set(rows.map((r) => mappedKeyString({ shopId: r.shop_id, sku: r.sku, locationId: r.location_id })));
}

/** One mapping of our key (shop, sku, location) to a Shopify inventory item and location. */
export interface MappingInput {
  shop_id: string;
  sku: string;
  location_id: string;
  inventory_item_id: string;
  shopify_location_id: string;
  variant_id?: string | null | undefined;
  /** The CSV line it came from (1 = header), for messages. */
  line?: number | undefined;
}

/** Refuses a mappings import, naming every problem (nothing is imported). */
export function mappingsInvalid(problems: string[]): never {
  throw Errors.MappingInvalid(`mappings CSV has ${problems.length} problem(s):\n${problems.join('\n')}`, { problems });
}

/** Upserts all rows in one transaction; shops must exist, and no Shopify item and location may get two of our keys. */
export async function importMappings(db: Db, rows: MappingInput[]): Promise<number> {
  return inTransaction(db, async (client) => {
    const shops = [...new Set(rows.map((r) => r.shop_id))];
    const { rows: known } = await client.query<{ id: string }>('SELECT id FROM shops WHERE id = ANY($1)', [shops]);
    const missing = shops.filter((s) => !known.some((k) => k.id === s));
    if (missing.length > 0) {
      throw Errors.UnknownShop(`unknown shop id(s) in mappings: ${missing.join(', ')} (add each to the configuration's shops, then run "inventory-sync migrate" with INVENTORY_SYNC_CONFIG naming that file)`, { shopIds: missing });
    }
    // An existing mapping of another key on the same Shopify item and location (the file does not move it away).
    const { rows: clashes } = await client.query<{ i: number; sku: string; location_id: string }>(
      `SELECT k.i::int, m.sku, m.location_id
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(shop_id, sku, location_id, item, loc, i)
         JOIN mappings m ON m.shop_id = k.shop_id AND m.inventory_item_id = k.item AND m.shopify_location_id = k.loc
        WHERE (m.sku, m.location_id) <> (k.sku, k.location_id)
          AND NOT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[], $3::text[]) AS f(shop_id, sku, location_id)
                           WHERE f.shop_id = m.shop_id AND f.sku = m.sku AND f.location_id = m.location_id)
        ORDER BY k.i`,
      [rows.map((r) => r.shop_id), rows.map((r) => r.sku), rows.map((r) => r.location_id), rows.map((r) => r.inventory_item_id), rows.map((r) => r.shopify_location_id)],
    );
    if (clashes.length > 0) {
      mappingsInvalid(
        clashes.map((c) => {
          const r = rows[c.i - 1]!;
          return `line ${r.line ?? c.i + 1}: inventory_item_id, shopify_location_id: ${r.inventory_item_id} at ${r.shopify_location_id} is already mapped to sku ${c.sku} at ${c.location_id} in shop "${r.shop_id}"`;
        }),
      );
    }
    await client.query(
      `INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id, variant_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       ON CONFLICT (shop_id, sku, location_id) DO UPDATE SET inventory_item_id = EXCLUDED.inventory_item_id,
         shopify_location_id = EXCLUDED.shopify_location_id, variant_id = EXCLUDED.variant_id, updated_at = now()`,
      [
        rows.map((r) => r.shop_id),
        rows.map((r) => r.sku),
        rows.map((r) => r.location_id),
        rows.map((r) => r.inventory_item_id),
        rows.map((r) => r.shopify_location_id),
        rows.map((r) => r.variant_id ?? null),
      ],
    );
    return rows.length;
  });
}

/** How many keys of a shop are mapped. */
export async function countMappings(db: Pick<Db, 'query'>, shopId: string): Promise<number> {
  return countOf(db, 'SELECT count(*)::int AS n FROM mappings WHERE shop_id = $1', [shopId]);
}

export interface MappingRecord {
  sku: string;
  location_id: string;
  inventory_item_id: string;
  shopify_location_id: string;
}

/** Every mapping of a shop. */
export async function listMappings(db: Pick<Db, 'query'>, shopId: string): Promise<MappingRecord[]> {
  const { rows } = await db.query<MappingRecord>('SELECT sku, location_id, inventory_item_id, shopify_location_id FROM mappings WHERE shop_id = $1', [shopId]);
  return rows;
}

/** Where one of our keys lives in Shopify. */
export interface ShopifyMapping {
  inventoryItemId: string;
  shopifyLocationId: string;
}

/** The Shopify item and location of each of these keys that has a mapping, by `skuLocationKey`. */
export async function shopifyMappingsOf(db: Pick<Db, 'query'>, shopId: string, keys: SkuLocation[]): Promise<Map<string, ShopifyMapping>> {
  const { rows } = await db.query<{ sku: string; location_id: string; inventory_item_id: string; shopify_location_id: string }>(
    `SELECT m.sku, m.location_id, m.inventory_item_id, m.shopify_location_id
       FROM unnest($2::text[], $3::text[]) AS k(sku, location_id)
       JOIN LATERAL (${probe('mappings', '$1')}) m ON true`,
    [shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
  return new Map(rows.map((r) => [skuLocationKey({ sku: r.sku, locationId: r.location_id }), { inventoryItemId: r.inventory_item_id, shopifyLocationId: r.shopify_location_id }]));
}

/** A mapping as Shopify's side names it: the variant and Shopify location of one of our keys. */
export interface VariantMapping {
  sku: string;
  locationId: string;
  variantId: string;
  shopifyLocationId: string;
}

/** The mappings of these variants (each given in every form the mappings may hold it: gid or bare number). */
export async function mappingsOfVariants(db: Pick<Db, 'query'>, shopId: string, variantForms: string[]): Promise<VariantMapping[]> {
  const { rows } = await db.query<{ sku: string; location_id: string; variant_id: string; shopify_location_id: string }>(
    'SELECT sku, location_id, variant_id, shopify_location_id FROM mappings WHERE shop_id = $1 AND variant_id = ANY($2::text[])',
    [shopId, variantForms],
  );
  return rows.map((r) => ({ sku: r.sku, locationId: r.location_id, variantId: r.variant_id, shopifyLocationId: r.shopify_location_id }));
}
