
/**
 * Shopify orders Shopify has counted and we have not yet: an order moves units from `available` to `committed`
 * the moment it is placed, and we hear of it only when its webhook has been handled and its lines claimed. A
 * refresh that ran in between would compute ATS without that order and hand its units back to `available`.
 *
 * So when a write finds Shopify's `available` moved (a stale compare) it keeps Shopify's `committed` from the same
 * read, and every ATS written while that reading is kept subtracts `max(0, committed - held)`, where `held` is
 * what our Shopify-origin claim lines still hold at the key (claimed, plus allocated and not yet shipped). Once
 * the claims have caught up (nothing unclaimed) the reading is dropped, so no read is ever added for it.
 */

export function unclaimedUnits(committed: number, held: number): number {
  return Math.max(0, committed - held);
}
