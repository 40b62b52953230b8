/** A (sku, location) within one shop: the unit every flow counts, computes and writes. */
export interface SkuLocation {
  sku: string;
  locationId: string;
}

/** The one string form of a `SkuLocation` (`{sku}|{locationId}`), used as a map key throughout. */
export function skuLocationKey(k: SkuLocation): string {
  return `${k.sku}|${k.locationId}`;
}
