import { computeAts } from '../domain/ats.js';
import { skuLocationKey } from '../domain/sku-location.js';
import type { ComponentsResult } from '../sources/components.js';
import type { RefreshInput, RefreshSummary } from './refresh.js';

/** A mapping as reconciliation reads it: our key and where it lives in Shopify. */
export interface ReconciledMapping {
  sku: string;
  location_id: string;
  inventory_item_id: string;
  shopify_location_id: string;
}

export interface Drift {
  sku: string;
  locationId: string;
  shopifyQty: number;
  ats: number;
  drift: number;
}

/**
 * Keys whose Shopify `available` differs from ATS. A key whose components could not be read, or that Shopify
 * did not report, is not judged (never compared against a missing value).
 */
export function findDrifts(mappings: ReconciledMapping[], components: Map<string, ComponentsResult>, shopifyQtyOf: (m: ReconciledMapping) => number | undefined): Drift[] {
  return mappings.flatMap((m) => {
    const c = components.get(skuLocationKey({ sku: m.sku, locationId: m.location_id }));
    const shopifyQty = shopifyQtyOf(m);
    if (c?.status !== 'ok' || shopifyQty === undefined) return [];
    const ats = computeAts(c.components);
    return shopifyQty === ats ? [] : [{ sku: m.sku, locationId: m.location_id, shopifyQty, ats, drift: shopifyQty - ats }];
  });
}

/** Corrects drifts through the same guarded write every refresh uses; returns the keys written. */
export async function correctDrifts(refreshKeys: (input: RefreshInput) => Promise<RefreshSummary>, shopId: string, drifts: Drift[]): Promise<Set<string>> {
  if (drifts.length === 0) return new Set();
  const summary = await refreshKeys({ shopId, keys: drifts.map((d) => ({ sku: d.sku, locationId: d.locationId })), trigger: 'reconciliation', rereadReadings: true });
  return new Set(Object.keys(summary.written));
}
