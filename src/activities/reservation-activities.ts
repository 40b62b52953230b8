import type { Db } from '../db/pool.js';
import { applyClaims, readReservation, type ApplyClaimsInput } from '../db/claims.js';
import { claimShopifyOrder, loadOrClaimShopifyOrder, settleClaims, type ClaimShopifyOrderInput, type SettleClaimsInput } from './claim-steps.js';
import { convertAllocation, type ConvertAllocationInput } from '../db/claim-conversion.js';
import type { SkuLocation } from '../domain/sku-location.js';
import type { MarkDirtyInput } from '../temporal/handoff.js';
import { resolveShopifyLines, type ResolveShopifyLinesInput, type ShopifyOrderPort } from './order-locations.js';
import { syncShopifyAdjustments, type SyncAdjustInput } from './order-shopify-adjust.js';
import { raiseAndLogAlert, type AlertInput } from '../alerts/raise.js';

export interface ReservationDeps {
  db: Db;
  shopify: (shopId: string) => ShopifyOrderPort;
  /** The worker's markDirty (one batcher per worker), used by the steps that claim and refresh at once. */
  markDirty(input: MarkDirtyInput): Promise<void>;
  /** Shopify moved these keys itself (a checkout, a restock): see ClaimStepDeps. */
  shopifyMoved?(shopId: string, keys: SkuLocation[], movedAt: number): Promise<void>;
}

/** The side effects of the reservation workflow: every write is idempotent, so a retried activity changes nothing twice. */
export function createReservationActivities(deps: ReservationDeps) {
  return {
    loadReservation: (input: { shopId: string; orderId: string }) => readReservation(deps.db, input.shopId, input.orderId),
    loadOrClaimShopifyOrder: (input: ClaimShopifyOrderInput) => loadOrClaimShopifyOrder(deps, input),
    claimShopifyOrder: (input: ClaimShopifyOrderInput) => claimShopifyOrder(deps, input),
    settleClaims: (input: SettleClaimsInput) => settleClaims(deps, input),
    // The separate steps: external orders adjust Shopify between claim and refresh, and histories recorded before
    // the combined steps replay through them.
    resolveShopifyLines: (input: ResolveShopifyLinesInput) => resolveShopifyLines(deps, input),
    applyClaims: (input: ApplyClaimsInput) => applyClaims(deps, input),
    convertAllocation: (input: ConvertAllocationInput) => convertAllocation(deps, input),
    syncShopifyAdjustments: (input: SyncAdjustInput) => syncShopifyAdjustments(deps, input),
    raiseReservationAlert: (input: AlertInput) => raiseAndLogAlert(deps.db, input),
  };
}
