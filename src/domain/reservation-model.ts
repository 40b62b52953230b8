/**
 * The reservation of one order: the shapes its workflow receives and reports, and the pure rules both sides use.
 * Imported by workflow code, so nothing here may touch Node built-ins or I/O.
 * Signals and inputs carry ids and quantities only: no customer data ever enters a workflow history.
 */

/** `shopify`: Shopify already moved the units to committed. `external`: we adjust Shopify ourselves. */
export type OrderOrigin = 'shopify' | 'external';

export type ReservationState =
  | 'pending' // the workflow exists, no order event applied yet (e.g. a WMS confirmation arrived first)
  | 'open' // order known, nothing claimed (all lines zero)
  | 'claimed'
  | 'partially_allocated'
  | 'allocated'
  | 'cancelled'
  | 'fulfilled'
  | 'expired';

export const TERMINAL_STATES: readonly ReservationState[] = ['cancelled', 'fulfilled', 'expired'];

export function isTerminal(state: ReservationState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** A line as an order event carries it. External orders name our sku and location; Shopify orders cannot. */
export interface OrderLineRef {
  lineId: string;
  quantity: number;
  variantId?: string | null;
  sku?: string | null;
  locationId?: string | null;
  /** Shopify's `fulfillable_quantity`: the units still to fulfil (absent when the payload did not say). */
  fulfillable?: number;
}

export type OrderEventKind = 'created' | 'updated' | 'edited' | 'cancelled' | 'fulfilled' | 'moved';

export interface OrderEvent {
  kind: OrderEventKind;
  origin: OrderOrigin;
  /** The order's own clock (Shopify `updated_at`, the channel's timestamp): an older event never rolls state back. */
  at: string;
  /** Webhook id or request id, for the record. */
  deliveryId: string;
  lines?: OrderLineRef[];
  /** Shopify POS orders carry the location they were sold at. */
  posShopifyLocationId?: string | null;
}

/** The WMS knows the order line, our sku and location: enough to convert even before the order's lines are known. */
export interface AllocationLine {
  lineId: string;
  sku: string;
  locationId: string;
  quantity: number;
}

/** The WMS confirms it allocated units of an order's lines. `occurredAt` is on the WMS's clock. */
export interface AllocationEvent {
  allocationId: string;
  source: string;
  occurredAt: string;
  lines: AllocationLine[];
  /**
   * Set by the confirmation lane only (never taken from a request): the lane converted this confirmation and queued
   * its keys' refresh in the outbox, in the transaction that marked it converted. The workflow's own conversion then
   * owes a refresh only for units it converts itself (src/starters/http/confirmations.ts).
   */
  refreshQueued?: true;
}

export interface ReservationInput {
  shopId: string;
  orderId: string;
  /** `reservations.ttl_seconds` ?? ttl_hours * 3600, fixed when the workflow starts. */
  ttlSeconds: number;
  autoReleaseEnabled: boolean;
  /** Set by continue-as-new only: what the workflow knows that the database rows do not. */
  carried?: ReservationCarry;
}

/** Lines, state and order clock reload from the database; these do not. */
export interface ReservationCarry {
  expiresAt: string;
  expiryDone: boolean;
  staleEventsIgnored: number;
  foreignEventsRefused?: number;
}

/** One claim line: a (line item, location) pair, since a line can be split over fulfillment orders. */
export interface ClaimLine {
  lineId: string;
  sku: string;
  locationId: string;
  /** Units the order still holds here (Shopify: remaining on open fulfillment orders). */
  quantity: number;
  /** Units of this line already shipped from here (a partial fulfilment). Shipped units leave the WMS's allocated
   *  total, so they no longer cover any of the remaining quantity. */
  fulfilled?: number;
}

export interface ClaimLineStatus {
  lineId: string;
  sku: string;
  locationId: string;
  /** Units subtracted as openClaims. */
  claimed: number;
  /** Units subtracted through the WMS's allocated total (converted from the claim). */
  allocated: number;
  /** Confirmed by the WMS but not yet in its allocated total: still part of `claimed`, never released. */
  awaitingWms: number;
  /** Units we took off Shopify's available ourselves (external orders only). */
  shopifyAdjusted: number;
}

export interface ReservationStatus {
  shopId: string;
  orderId: string;
  origin: OrderOrigin | null;
  state: ReservationState;
  lines: ClaimLineStatus[];
  lastEventAt: string | null;
  expiresAt: string | null;
  /** Deliveries dropped because they were older than what was already applied. */
  staleEventsIgnored: number;
  /** Events refused because their origin (shopify, external) is not the reservation's. */
  foreignEventsRefused?: number;
  /** Where the answer came from: the running workflow, or the database row once it has closed. */
  source?: 'workflow' | 'database';
}

/** How long an unconfirmed reservation holds its units: `ttl_seconds` when set, else `ttl_hours`. */
export function reservationTtlSeconds(settings: { ttl_hours: number; ttl_seconds?: number | undefined }): number {
  return settings.ttl_seconds ?? settings.ttl_hours * 3600;
}

/** The input every start of an order's workflow carries: the TTL is fixed when the workflow starts. */
export function reservationInput(
  settings: { ttl_hours: number; ttl_seconds?: number | undefined; auto_release_enabled: boolean },
  shopId: string,
  orderId: string,
): ReservationInput {
  return { shopId, orderId, ttlSeconds: reservationTtlSeconds(settings), autoReleaseEnabled: settings.auto_release_enabled };
}

export const RESERVATION_WORKFLOW_TYPE = 'reservationWorkflow';
export const ORDER_EVENT_SIGNAL = 'orderEvent';
export const ALLOCATION_SIGNAL = 'wmsAllocation';
export const STATUS_QUERY = 'status';

export function claimLineId(lineId: string, locationId: string): string {
  return `${lineId}@${locationId}`;
}

/** The state a live reservation is in, from its lines. */
export function stateOfLines(lines: Pick<ClaimLineStatus, 'claimed' | 'allocated' | 'awaitingWms'>[]): ReservationState {
  const claimed = unconfirmedClaims(lines);
  const allocated = lines.reduce((s, l) => s + l.allocated + l.awaitingWms, 0);
  if (claimed > 0 && allocated > 0) return 'partially_allocated';
  if (claimed > 0) return 'claimed';
  if (allocated > 0) return 'allocated';
  return 'open';
}

/** Claimed units the WMS has not confirmed: what the expiry timer releases. */
export function unconfirmedClaims(lines: Pick<ClaimLineStatus, 'claimed' | 'awaitingWms'>[]): number {
  return lines.reduce((s, l) => s + Math.max(0, l.claimed - l.awaitingWms), 0);
}

/** Timestamps compared as instants (ISO strings of different precision do not sort as text). */
export function isOlder(at: string, than: string | null): boolean {
  return than !== null && Date.parse(at) < Date.parse(than);
}

export function laterOf(a: string | null, b: string): string {
  return a === null || Date.parse(b) > Date.parse(a) ? b : a;
}

/** External orders name our sku and location on each line; repeated (line, location) pairs add up. */
export function externalClaimLines(lines: OrderLineRef[]): ClaimLine[] {
  const out = new Map<string, ClaimLine>();
  for (const l of lines) {
    if (!l.sku || !l.locationId) continue;
    const id = claimLineId(l.lineId, l.locationId);
    const prev = out.get(id);
    out.set(id, { lineId: id, sku: l.sku, locationId: l.locationId, quantity: (prev?.quantity ?? 0) + l.quantity });
  }
  return [...out.values()];
}

/** A reservation as the database holds it: what a workflow resumes from. */
export interface StoredReservation {
  origin: OrderOrigin;
  state: ReservationState;
  lastEventAt: string | null;
  expiresAt: string | null;
  lines: ClaimLineStatus[];
}
