/**
 * ATS (available to sell) for one (shop, sku, location):
 *   max(0, erpOnHand - wmsAllocated - posPending - openClaims - safetyBuffer)
 * Each unit of an order is subtracted once: through openClaims until the WMS allocates it, then through
 * wmsAllocated. Pure: imported by workflows and activities alike.
 */
export interface AtsComponents {
  erpOnHand: number;
  wmsAllocated: number;
  posPending: number;
  openClaims: number;
  safetyBuffer: number;
}

export function computeAts(c: AtsComponents): number {
  return Math.max(0, c.erpOnHand - c.wmsAllocated - c.posPending - c.openClaims - c.safetyBuffer);
}
