/**
 * Bounds on what one caller can make us store or do. Temporal refuses workflow ids over 1,000 characters, and a
 * row we cannot hand on would stall whatever reads it; these keep every id we derive far below that.
 */
export const MAX_SHOP_ID_LENGTH = 64;
/** Order, line, allocation and location ids, and SKUs. */
export const MAX_ID_LENGTH = 255;
/** Units on one line of an order or allocation. */
export const MAX_LINE_QUANTITY = 100_000;
/** Lines in one order or allocation: one Shopify call's array. */
export const MAX_LINES = 250;

/** Why a (shop, sku, location) from outside cannot be handed on, or null when it can. */
export function keyTooLong(k: { shopId: string; sku: string; locationId: string }): string | null {
  if (k.shopId.length > MAX_SHOP_ID_LENGTH) return `shopId is ${k.shopId.length} characters (at most ${MAX_SHOP_ID_LENGTH})`;
  if (k.sku.length > MAX_ID_LENGTH) return `sku is ${k.sku.length} characters (at most ${MAX_ID_LENGTH})`;
  if (k.locationId.length > MAX_ID_LENGTH) return `locationId is ${k.locationId.length} characters (at most ${MAX_ID_LENGTH})`;
  return null;
}

/**
 * A location code may not contain this: it separates SKU and location in every key we build (`{sku}|{locationId}`,
 * src/domain/sku-location.ts), so with it SKU "A|B" at "C" and SKU "A" at "B|C" would be one key, and a channel's
 * claim on the one would count against the other. A SKU may contain it: with none in the location, the key is unambiguous.
 */
export const KEY_SEPARATOR = '|';
export const LOCATION_SEPARATOR_MESSAGE = `expected no "${KEY_SEPARATOR}" in a location code (it separates SKU and location in our keys)`;

/** Why a (shop, sku, location) from outside cannot be handed on (too long, or an ambiguous location), or null. */
export function keyProblem(k: { shopId: string; sku: string; locationId: string }): string | null {
  return keyTooLong(k) ?? (k.locationId.includes(KEY_SEPARATOR) ? `locationId "${clip(k.locationId)}": ${LOCATION_SEPARATOR_MESSAGE}` : null);
}

/** A value from outside, cut to a length fit for a log line or an audit row. */
export function clip(value: string, max = 80): string {
  return value.length <= max ? value : `${value.slice(0, max)}…(${value.length} chars)`;
}
