import type { Db } from '../db/pool.js';
import type { Emulator } from '../shopify/emulator/index.js';

export interface CatalogSpec {
  shopId: string;
  domain: string;
  accessToken: string;
  plan?: 'standard' | 'advanced' | 'plus' | 'enterprise';
  webhookUrl?: string;
  webhookSecret?: string;
  /** Our location codes; each becomes a Shopify location. */
  locations: string[];
  skus: string[];
  /** Shopify's starting `available` per key (default 0). */
  initialAvailable?: (sku: string, location: string) => number;
}

export interface SeededCatalog {
  /** `${sku}|${location}` -> Shopify ids. */
  ids: Map<string, { inventoryItemId: string; locationId: string; variantId: string }>;
  locationIds: Map<string, string>;
}

/**
 * Creates a shop in the emulator and the matching rows in our database (shop, mappings), the way a merchant's
 * onboarding would: one Shopify location per location code, one product per SKU, one mapping per pair.
 */
export async function seedCatalog(emulator: Emulator, db: Db, spec: CatalogSpec): Promise<SeededCatalog> {
  emulator.createShop({
    domain: spec.domain,
    accessToken: spec.accessToken,
    ...(spec.plan ? { plan: spec.plan } : {}),
    ...(spec.webhookUrl ? { webhookUrl: spec.webhookUrl } : {}),
    ...(spec.webhookSecret ? { webhookSecret: spec.webhookSecret } : {}),
  });
  const locationIds = new Map(spec.locations.map((code) => [code, emulator.createLocation(spec.domain, { name: code }).id]));
  const ids: SeededCatalog['ids'] = new Map();
  for (const sku of spec.skus) {
    const product = emulator.createProduct(spec.domain, { sku });
    for (const [code, locationId] of locationIds) {
      emulator.setQuantities(spec.domain, product.inventoryItemId, locationId, { available: spec.initialAvailable?.(sku, code) ?? 0 });
      ids.set(`${sku}|${code}`, { inventoryItemId: product.inventoryItemId, locationId, variantId: product.variantId });
    }
  }
  await db.query('INSERT INTO shops (id, domain, plan) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET domain = EXCLUDED.domain, plan = EXCLUDED.plan', [
    spec.shopId,
    spec.domain,
    spec.plan ?? 'standard',
  ]);
  const rows = [...ids.entries()].map(([key, v]) => ({ key: key.split('|') as [string, string], ...v }));
  await db.query(
    `INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id, variant_id)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT (shop_id, sku, location_id) DO UPDATE SET inventory_item_id = EXCLUDED.inventory_item_id,
       shopify_location_id = EXCLUDED.shopify_location_id, variant_id = EXCLUDED.variant_id`,
    [spec.shopId, rows.map((r) => r.key[0]), rows.map((r) => r.key[1]), rows.map((r) => r.inventoryItemId), rows.map((r) => r.locationId), rows.map((r) => r.variantId)],
  );
  return { ids, locationIds };
}
