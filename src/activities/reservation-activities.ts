import { log } from '@temporalio/activity';
import type { Db } from '../db/pool.js';
import { applyClaims, readReservation, type ApplyClaimsInput } from './claims.js';
import { convertAllocation, type ConvertAllocationInput } from './claim-conversion.js';
import { resolveShopifyLines, type ResolveShopifyLinesInput, type ShopifyOrderPort } from './order-locations.js';
import { syncShopifyAdjustments, type SyncAdjustInput } from './order-shopify-adjust.js';
import { raiseAlert, type AlertInput } from './reservation-alerts.js';

export interface ReservationDeps {
  db: Db;
  shopify: (shopId: string) => ShopifyOrderPort;
}

/** The side effects of the reservation workflow: every write is idempotent, so a retried activity changes nothing twice. */
export function createReservationActivities(deps: ReservationDeps) {
  return {
    loadReservation: (input: { shopId: string; orderId: string }) => readReservation(deps.db, input.shopId, input.orderId),
    resolveShopifyLines: (input: ResolveShopifyLinesInput) => resolveShopifyLines(deps, input),
    applyClaims: (input: ApplyClaimsInput) => applyClaims(deps, input),
    convertAllocation: (input: ConvertAllocationInput) => convertAllocation(deps, input),
    syncShopifyAdjustments: (input: SyncAdjustInput) => syncShopifyAdjustments(deps, input),
    raiseReservationAlert: async (input: AlertInput) => {
      const raised = await raiseAlert(deps.db, input);
      if (raised) log.warn(`alert ${input.kind}`, { shopId: input.shopId, subject: input.subject, ...input.details });
      return raised;
    },
  };
}
