import type { SkuLocation } from '../domain/sku-location.js';
import type { MarkDirtyInput } from '../temporal/handoff.js';
import { applyClaims, readReservation, type ApplyClaimsInput, type ClaimsDeps, type ClaimsOutcome } from '../db/claims.js';
import type { StoredReservation } from '../domain/reservation-model.js';
import { resolveShopifyLines, type OrderLocationDeps, type ResolveShopifyLinesInput } from './order-locations.js';
import { raiseAndLogAlert } from '../alerts/raise.js';

/**
 * The reservation workflow's hot path in one local activity each, so a new order costs the worker two workflow
 * activations (start, then the result of loadOrClaimShopifyOrder) instead of five. Each step stays idempotent on
 * its own, so a re-run after a crash between steps repeats nothing that matters: claims are a set, the alert is
 * once per order, and marking a key dirty twice only refreshes it twice.
 */
export interface ClaimStepDeps extends ClaimsDeps, OrderLocationDeps {
  markDirty(input: MarkDirtyInput): Promise<void>;
  /**
   * Shopify moved these keys' `available` itself: a checkout took the units we just claimed, or a cancellation
   * restocked the units we just released. Their next refresh reads them again instead of comparing on the value
   * it last saw (src/guard/last-seen.ts, doubtLastSeen).
   */
  shopifyMoved?(shopId: string, keys: SkuLocation[], movedAt: number): Promise<void>;
}

export type SettleClaimsInput = ApplyClaimsInput & { trigger: string };

export interface ClaimShopifyOrderInput extends Omit<ApplyClaimsInput, 'lines' | 'terminal'> {
  order: Omit<ResolveShopifyLinesInput, 'shopId' | 'orderId'>;
}

export type ClaimShopifyOrderOutcome = { found: false; unmapped: string[] } | ({ found: true; unmapped: string[] } & Omit<ClaimsOutcome, 'changedKeys'>);

/**
 * Claims (or releases) the order's lines and hands every key of the order to the shop's refresh: a re-run of this
 * step after a crash changes nothing, but may owe the refresh the first run never handed over.
 */
export async function settleClaims(deps: ClaimStepDeps, input: SettleClaimsInput): Promise<Omit<ClaimsOutcome, 'changedKeys'>> {
  const { trigger, ...claimInput } = input;
  const { changedKeys, ...out } = await applyClaims(deps, claimInput);
  // A Shopify order's claim follows Shopify's own checkout, its cancellation Shopify's own restock. Fulfilment
  // moves on-hand and committed, not available; our own expiry moves nothing in Shopify.
  const shopifyMovedIt = input.origin === 'shopify' && (input.terminal === undefined || input.terminal === 'cancelled');
  // The order event's time is when Shopify moved the units (its updated_at: the checkout, the cancellation).
  if (shopifyMovedIt && changedKeys.length > 0) await deps.shopifyMoved?.(input.shopId, changedKeys, input.lastEventAt === null ? Number.NaN : Date.parse(input.lastEventAt));
  await deps.markDirty({ shopId: input.shopId, keys: changedKeys, trigger });
  return out;
}

/**
 * A Shopify order event: where Shopify committed each line (its fulfillment orders, or the POS location), then
 * the claims and the refresh. Lines with no mapping are not claimed; they raise one alert per order.
 */
export async function claimShopifyOrder(deps: ClaimStepDeps, input: ClaimShopifyOrderInput): Promise<ClaimShopifyOrderOutcome> {
  const { order, ...claimInput } = input;
  const resolved = await resolveShopifyLines(deps, { shopId: input.shopId, orderId: input.orderId, ...order });
  if (resolved.unmapped.length > 0) {
    await raiseAndLogAlert(deps.db, { kind: 'unmapped_order_line', shopId: input.shopId, subject: input.orderId, details: { variantAtLocation: resolved.unmapped } });
  }
  if (!resolved.found) return { found: false, unmapped: resolved.unmapped };
  const out = await settleClaims(deps, { ...claimInput, lines: resolved.lines, trigger: 'claim' });
  return { found: true, unmapped: resolved.unmapped, ...out };
}

/**
 * The first step of a run that started with a Shopify order event: the stored reservation when there is one (a
 * late delivery after an earlier run closed: nothing is claimed, the workflow judges the event against it), else
 * the event claimed at once, since with nothing stored it cannot be stale. Only this order's workflow writes its
 * reservation row, and two runs of one workflow id never overlap, so nothing can appear between read and claim.
 */
export async function loadOrClaimShopifyOrder(
  deps: ClaimStepDeps,
  input: ClaimShopifyOrderInput,
): Promise<{ stored: StoredReservation; claim: null } | { stored: null; claim: ClaimShopifyOrderOutcome }> {
  const stored = await readReservation(deps.db, input.shopId, input.orderId);
  if (stored) return { stored, claim: null };
  return { stored: null, claim: await claimShopifyOrder(deps, input) };
}
