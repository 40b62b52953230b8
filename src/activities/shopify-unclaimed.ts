
/**
 * Shopify orders Shopify has counted and we have not yet: an order moves units from `available` to `committed`
 * the moment it is placed, and we hear of it only when its webhook has been handled and its lines claimed. A
 * refresh that ran in between would compute ATS without that order and hand its units back to `available`.
 *
 * So when a write finds Shopify's `available` moved (a stale compare) it keeps Shopify's `committed` from the same
 * read, and every ATS written while that reading is kept subtracts `max(0, committed - held)`, where `held` is
 * what our Shopify-origin claim lines still hold at the key (claimed, plus allocated and not yet shipped). Once
 * the claims have caught up (nothing unclaimed) the reading is dropped, so no read is ever added for it.
 *
 * A reading can outlive its truth the other way: if our claims at the key released units after it was taken (a
 * fulfilment or cancellation handled since), `committed - held` counts those units as unclaimed when the reading
 * still held them, and every write would subtract them until the reading expired: an undersell. So each reading
 * keeps what our claims held just before it was taken (`heldBefore`); once they hold less, the reading is taken
 * again (refresh-compare.ts, `rereadOutlivedReadings`) instead of trusted.
 *
 * Our claims cannot tell us about an order Shopify cancels (or ships) before we ever claimed it: the reading still
 * counts it, and when Shopify's `available` is back at the value we last saw (another writer moved it) no compare
 * fails to show it. Such a reading stays wrong until it expires. Reconciliation, which has just brought the claims
 * up to date, therefore takes every kept reading again before it corrects a key (`rereadReadings`).
 */

export function unclaimedUnits(committed: number, held: number): number {
  return Math.max(0, committed - held);
}

/** Whether our claims released units at the key since the reading was taken (a reading without `heldBefore` is trusted). */
export function readingOutlived(reading: { heldBefore?: number }, heldNow: number): boolean {
  return reading.heldBefore !== undefined && heldNow < reading.heldBefore;
}
