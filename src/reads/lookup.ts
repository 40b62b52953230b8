import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { Errors } from '../domain/errors.js';
import { clip } from '../domain/limits.js';

/** A mapped key as the reads see it: our SKU and location, and where it lives in Shopify. */
export interface MappedKey {
  sku: string;
  locationId: string;
  inventoryItemId: string;
  shopifyLocationId: string;
}

/** The shop, or 404 naming it. */
export function requireShop(config: Config, shopId: string): void {
  if (!config.shops.some((s) => s.id === shopId)) {
    throw Errors.UnknownShop(`shop "${clip(shopId, 64)}" is not in the configuration`, { field: 'shop' });
  }
}

/**
 * The mapped keys a read asks for: one SKU at one location, or at every location the shop maps it to.
 * Unknown shop, SKU or location: a 404 naming which (`details.field`), in that order.
 */
export async function resolveKeys(db: Db, config: Config, shopId: string, sku: string, locationId?: string): Promise<MappedKey[]> {
  requireShop(config, shopId);
  if (!sku) throw Errors.ArgumentInvalid('sku: required', { field: 'sku' });
  const { rows } = await db.query<{ location_id: string; inventory_item_id: string; shopify_location_id: string }>(
    `SELECT location_id, inventory_item_id, shopify_location_id FROM mappings WHERE shop_id = $1 AND sku = $2 ORDER BY location_id`,
    [shopId, sku],
  );
  if (rows.length === 0) throw Errors.SkuNotFound(`shop "${shopId}" has no SKU "${clip(sku, 255)}" (no mapping)`, { field: 'sku' });
  const keys = rows.map((r) => ({ sku, locationId: r.location_id, inventoryItemId: r.inventory_item_id, shopifyLocationId: r.shopify_location_id }));
  if (locationId === undefined || locationId === '') return keys;
  const at = keys.filter((k) => k.locationId === locationId);
  if (at.length === 0) {
    throw Errors.LocationNotFound(`shop "${shopId}" does not stock SKU "${clip(sku, 255)}" at location "${clip(locationId, 255)}" (it does at ${keys.map((k) => k.locationId).join(', ')})`, { field: 'location' });
  }
  return at;
}
