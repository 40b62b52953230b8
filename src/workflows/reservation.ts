import { allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, log, patched, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  ALLOCATION_SIGNAL,
  externalClaimLines,
  isOlder,
  isTerminal,
  laterOf,
  ORDER_EVENT_SIGNAL,
  STATUS_QUERY,
  unconfirmedClaims,
  type AllocationEvent,
  type ClaimLine,
  type OrderEvent,
  type OrderLineRef,
  type ReservationInput,
  type ReservationState,
  type ReservationStatus,
  type StoredReservation,
} from '../domain/reservation-model.js';
import { boundedKeywordList } from '../domain/keyword-list.js';
import { OrderIdKey, ReservationStateKey, ShopIdKey, SkuKey } from '../temporal/search-attributes.js';
import { defaultActivityOptions } from './retry-policy.js';
import type { SkuLocation } from '../domain/sku-location.js';

export const orderEventSignal = defineSignal<[OrderEvent]>(ORDER_EVENT_SIGNAL);
export const allocationSignal = defineSignal<[AllocationEvent]>(ALLOCATION_SIGNAL);
export const statusQuery = defineQuery<ReservationStatus>(STATUS_QUERY);

// Database steps, the hand-off to the refresh workflow and the one fulfillment-order read take milliseconds:
// local activities, so a new order costs one workflow task, not one per step. All idempotent, so a re-run after
// a crash is safe.
const { loadReservation, applyClaims, settleClaims, convertAllocation, raiseReservationAlert, markDirty } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: defaultActivityOptions.retry,
});
const { resolveShopifyLines, claimShopifyOrder, loadOrClaimShopifyOrder } = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', retry: defaultActivityOptions.retry });
// Steps merged into one local activity (load + read locations + claim + mark dirty for a new Shopify order;
// claim + mark dirty otherwise): a new order costs two workflow activations instead of five, and no
// search-attribute upsert before its first event is applied. Continue-as-new comes with the same patch. Executions
// whose history predates it replay through the separate steps.
const ONE_STEP_CLAIMS = 'claim-in-one-step';
// Events whose origin differs from the reservation's (an external event at a Shopify order's reservation, or the
// reverse) are refused and counted. Executions that started before keep applying them as they did.
const REFUSE_FOREIGN_ORIGIN = 'refuse-foreign-origin';
// One patch for two changes (each patch costs every new order a marker and a search-attribute upsert):
// - the Sku search attribute holds as many of the order's SKUs as fit in Temporal's 2 KB value limit: over it,
//   Temporal terminates the workflow (and its expiry timer) when the upsert's task completes;
// - a reservation the WMS confirmed but whose order never came ('pending') is not closed as 'expired' at its
//   expiry: that terminal state made the order's own events, arriving later, stale, so its units were never
//   claimed (a WMS token could so disable any order id it guessed). The run ends with the reservation still
//   pending and an alert; the order's first event starts a new run with a fresh expiry.
const PENDING_EXPIRY_AND_BOUNDED_SKUS = 'pending-expiry-and-bounded-skus';
// A confirmation the sweeper's lane converted comes with `refreshQueued`: its keys' refresh was queued with the
// conversion, so the workflow's own conversion (which finds the units converted) hands them to the refresh only
// when it converted units itself. Before, every such confirmation cost its keys a second refresh and Shopify write.
// Decided per confirmation; histories recorded before it replay with the hand-off.
const LANE_QUEUED_REFRESH = 'lane-queued-refresh';
// Shopify mutations (external orders) run as ordinary activities: visible, and retried by the server.
const { syncShopifyAdjustments } = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '1 minute' });

type Inbox = { type: 'order'; event: OrderEvent } | { type: 'allocation'; event: AllocationEvent };

/**
 * One order's claim on stock, from its first event to cancelled, fulfilled or expired (docs/design.md, the four flows).
 * Events are queued by the signal handlers and applied one at a time, so activities never race each other.
 * Shopify orders: Shopify already moved the units to committed, so we claim (ATS drops, Shopify stays equal to
 * it) and never adjust Shopify. External orders: we also take the units off Shopify's available ourselves.
 */
export async function reservationWorkflow(input: ReservationInput): Promise<ReservationStatus> {
  const { shopId, orderId } = input;
  const workflowId = workflowInfo().workflowId;
  const inbox: Inbox[] = [];
  const status: ReservationStatus = {
    shopId, orderId, origin: null, state: 'pending', lines: [], lastEventAt: null, expiresAt: null,
    staleEventsIgnored: input.carried?.staleEventsIgnored ?? 0,
    ...(input.carried?.foreignEventsRefused ? { foreignEventsRefused: input.carried.foreignEventsRefused } : {}),
  };
  setHandler(orderEventSignal, (event) => void inbox.push({ type: 'order', event }));
  setHandler(allocationSignal, (event) => void inbox.push({ type: 'allocation', event }));
  setHandler(statusQuery, () => status);

  // Decided once per execution, before the first command: one that started before this change keeps the separate
  // steps to its end (its history replays through them).
  const oneStep = patched(ONE_STEP_CLAIMS);
  const refuseForeign = patched(REFUSE_FOREIGN_ORIGIN);
  const boundSkus = patched(PENDING_EXPIRY_AND_BOUNDED_SKUS);
  const pendingStaysOpen = boundSkus;
  /** Set when a pending reservation reached its expiry with no order: the run ends once nothing is queued. */
  let orderNeverArrived = false;
  const freshExpiresAt = input.carried?.expiresAt ?? new Date(Date.now() + input.ttlSeconds * 1000).toISOString();
  const settled = (out: Pick<ReservationStatus, 'lines' | 'state'>) => {
    status.lines = out.lines;
    status.state = out.state;
  };
  const admit = (e: OrderEvent): boolean => {
    if (refuseForeign && status.origin !== null && e.origin !== status.origin) {
      status.foreignEventsRefused = (status.foreignEventsRefused ?? 0) + 1;
      log.warn('order event refused: its origin is not the reservation\'s', { shopId, orderId, origin: status.origin, eventOrigin: e.origin, kind: e.kind });
      return false;
    }
    status.origin ??= e.origin;
    // Terminal states are sticky, and an older delivery (a stale retry, a create after its cancel) changes nothing.
    // A move carries Shopify's delivery time, not the order's clock: it only makes us re-read the truth.
    const ordered = e.kind !== 'moved';
    if (isTerminal(status.state) || (ordered && isOlder(e.at, status.lastEventAt))) {
      status.staleEventsIgnored += 1;
      return false;
    }
    if (ordered) status.lastEventAt = laterOf(status.lastEventAt, e.at);
    return true;
  };

  // A run started after an earlier one closed (a late delivery) continues from the database, never from scratch.
  // The common case, a new storefront order whose create came with the start, is read and claimed in one step:
  // with no stored reservation there is nothing its event could be stale against.
  let prior: StoredReservation | null;
  const first = inbox[0];
  if (oneStep && first?.type === 'order' && claimsShopifyLines(first.event)) {
    const e = first.event;
    const opened = await loadOrClaimShopifyOrder({
      shopId, orderId, workflowId, origin: e.origin, lastEventAt: e.at, expiresAt: freshExpiresAt,
      order: orderLines(e),
    });
    prior = opened.stored;
    if (!opened.stored) {
      inbox.shift();
      admit(e);
      if (opened.claim.found) settled(opened.claim);
    }
  } else {
    prior = await loadReservation({ shopId, orderId });
  }
  if (prior) Object.assign(status, { origin: prior.origin, state: prior.state, lines: prior.lines, lastEventAt: prior.lastEventAt, expiresAt: prior.expiresAt });
  let expiresAtMs = prior?.expiresAt ? Date.parse(prior.expiresAt) : Date.parse(freshExpiresAt);
  status.expiresAt = new Date(expiresAtMs).toISOString();
  const published = { view: '' };
  let expiryDone = (prior !== null && isTerminal(prior.state)) || (input.carried?.expiryDone ?? false);
  // Search attributes reach the Web UI when the task completes: with an event still queued, the publish after it
  // is the one that counts, and an earlier one would only add a history event.
  if (!oneStep || inbox.length === 0) publish(status, published, boundSkus);

  const markKeysDirty = async (keys: SkuLocation[], trigger: string) => {
    if (keys.length > 0) await markDirty({ shopId, keys, trigger });
  };

  const reservationRow = () => ({ shopId, orderId, workflowId, origin: status.origin ?? 'shopify', lastEventAt: status.lastEventAt, expiresAt: status.expiresAt });
  const claimInput = (lines: ClaimLine[], terminal?: ReservationState) => ({ ...reservationRow(), lines, ...(terminal ? { terminal } : {}) });
  const trigger = (terminal?: ReservationState) => (terminal ? `reservation_${terminal}` : 'claim');

  const claim = async (lines: ClaimLine[], terminal?: ReservationState) => {
    const adjustsShopify = status.origin === 'external' && terminal !== 'fulfilled';
    if (!adjustsShopify && oneStep) {
      settled(await settleClaims({ ...claimInput(lines, terminal), trigger: trigger(terminal) }));
      return;
    }
    const out = await applyClaims(claimInput(lines, terminal));
    settled(out);
    if (adjustsShopify) {
      // Shipped units left stock for good; cancelled and expired ones come back: reverse what we took.
      status.lines = await syncShopifyAdjustments({ shopId, orderId, release: terminal !== undefined });
    }
    await markKeysDirty(out.changedKeys, trigger(terminal));
  };

  const onOrderEvent = async (e: OrderEvent) => {
    if (!admit(e)) return;
    if (e.kind === 'cancelled' || e.kind === 'fulfilled') return claim([], e.kind);
    if (status.origin === 'external') return claim(externalClaimLines(e.lines ?? []));
    if (oneStep) {
      const out = await claimShopifyOrder({ ...reservationRow(), order: orderLines(e) });
      if (out.found) settled(out);
      return;
    }
    const resolved = await resolveShopifyLines({ shopId, orderId, ...orderLines(e) });
    if (resolved.unmapped.length > 0) {
      await raiseReservationAlert({ kind: 'unmapped_order_line', shopId, subject: orderId, details: { variantAtLocation: resolved.unmapped } });
    }
    if (!resolved.found) return;
    return claim(resolved.lines);
  };

  const onAllocation = async (a: AllocationEvent) => {
    const out = await convertAllocation({ shopId, orderId, workflowId, origin: status.origin, allocation: a });
    status.lines = out.lines;
    if (!isTerminal(status.state) && status.state !== 'pending') status.state = out.state;
    const owed = a.refreshQueued === true && out.converted === 0 && patched(LANE_QUEUED_REFRESH) ? [] : out.changedKeys;
    await markKeysDirty(owed, 'wms_allocation');
  };

  // THE EXPIRY TIMER: units claimed but not allocated by the WMS within the TTL are released (when
  // auto_release_enabled) and an alert is raised. Fires once; allocation or a terminal event makes it moot.
  const onExpiry = async () => {
    expiryDone = true;
    const claimed = unconfirmedClaims(status.lines);
    if (claimed === 0 && status.state !== 'pending') return;
    if (pendingStaysOpen && status.state === 'pending') {
      log.warn('reservation expired before its order arrived; it stays pending', { shopId, orderId });
      await raiseReservationAlert({ kind: 'reservation_expired', shopId, subject: orderId, details: { claimed: 0, released: false, expiresAt: status.expiresAt, orderNeverArrived: true } });
      orderNeverArrived = true;
      return;
    }
    const release = input.autoReleaseEnabled;
    log.warn('reservation expired', { shopId, orderId, claimed, released: release });
    await raiseReservationAlert({ kind: 'reservation_expired', shopId, subject: orderId, details: { claimed, released: release, expiresAt: status.expiresAt } });
    if (release) await claim([], 'expired');
  };

  for (;;) {
    if (inbox.length === 0 && (isTerminal(status.state) || orderNeverArrived)) break;
    if (orderNeverArrived && inbox[0]?.type === 'order') {
      // The order came after all, in this run: its claim gets a whole expiry of its own.
      orderNeverArrived = false;
      expiryDone = false;
      expiresAtMs = Date.now() + input.ttlSeconds * 1000;
      status.expiresAt = new Date(expiresAtMs).toISOString();
    }
    // An order that lives long and busy (edits, moves, confirmations) continues in a fresh history when Temporal
    // suggests it; the next run reloads lines, state and order clock from the database and gets the rest carried.
    if (oneStep && inbox.length === 0 && workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      const carried = {
        expiresAt: status.expiresAt ?? freshExpiresAt, expiryDone, staleEventsIgnored: status.staleEventsIgnored,
        ...(status.foreignEventsRefused ? { foreignEventsRefused: status.foreignEventsRefused } : {}),
      };
      if (inbox.length === 0) await continueAsNew<typeof reservationWorkflow>({ ...input, carried });
    }
    const timerArmed = !expiryDone && !isTerminal(status.state);
    const arrived = timerArmed
      ? await condition(() => inbox.length > 0, Math.max(1, expiresAtMs - Date.now()))
      : (await condition(() => inbox.length > 0), true);
    if (!arrived) {
      await onExpiry();
    } else {
      const next = inbox.shift()!;
      if (next.type === 'order') await onOrderEvent(next.event);
      else await onAllocation(next.event);
    }
    publish(status, published, boundSkus);
  }
  await condition(allHandlersFinished);
  return status;
}

/** What locating a Shopify order's lines needs from its event (POS orders carry their location). */
function orderLines(e: OrderEvent): { posShopifyLocationId: string | null; lines: OrderLineRef[] } {
  return { posShopifyLocationId: e.posShopifyLocationId ?? null, lines: e.lines ?? [] };
}

/** Shopify order events whose lines we claim where Shopify committed them (not a cancel or fulfilment). */
function claimsShopifyLines(e: OrderEvent): boolean {
  return e.origin === 'shopify' && e.kind !== 'cancelled' && e.kind !== 'fulfilled';
}

/** Keeps the operator's view current: any order is found in the Web UI by shop, order, sku or state. */
function publish(status: ReservationStatus, last: { view: string }, bounded: boolean): void {
  const all = [...new Set(status.lines.map((l) => l.sku))].sort();
  const skus = bounded ? boundedKeywordList(all).kept : all;
  const view = `${status.state}|${skus.join(',')}`;
  // Only changes are recorded: each upsert is an event in the history.
  if (view === last.view) return;
  last.view = view;
  upsertSearchAttributes([
    { key: ShopIdKey, value: status.shopId },
    { key: OrderIdKey, value: status.orderId },
    { key: ReservationStateKey, value: status.state },
    { key: SkuKey, value: skus },
  ]);
}
