/**
 * ATS (available to sell) for one (shop, sku, location):
 *   max(0, erpOnHand - wmsAllocated - posPending - openClaims - safetyBuffer - shopifyUnclaimed)
 * Each unit of an order is subtracted once: through openClaims until the WMS allocates it, then through
 * wmsAllocated. `shopifyUnclaimed` is what Shopify has committed for orders whose claim we do not hold yet (their
 * webhook is still on its way): without it a write would hand those units back to Shopify's `available`.
 * Pure: imported by workflows and activities alike.
 */
export interface AtsComponents {
  erpOnHand: number;
  wmsAllocated: number;
  posPending: number;
  openClaims: number;
  safetyBuffer: number;
  /** Units Shopify committed to orders we have not claimed yet (0 or absent when none are known). */
  shopifyUnclaimed?: number;
}

export function computeAts(c: AtsComponents): number {
  return Math.max(0, c.erpOnHand - c.wmsAllocated - c.posPending - c.openClaims - c.safetyBuffer - (c.shopifyUnclaimed ?? 0));
}
