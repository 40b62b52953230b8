import { convertAllocation, convertKnownOrderConfirmations } from '../../db/claim-conversion.js';
import { lookForOrders, orderKey } from '../../db/early-confirmations.js';
import { claimUnconvertedConfirmations, deleteHandoffs, markConverted, releaseHandoffs, type ReservationHandoffRow } from '../../db/handoffs.js';
import { workflowIds } from '../../domain/keys.js';
import type { AllocationEvent } from '../../domain/reservation-model.js';
import type { SkuLocation } from '../../domain/sku-location.js';
import type { HttpDeps } from './deps.js';

/**
 * The confirmation lane of the hand-off sweeper (docs/reservations.md, "WMS confirmations"). A WMS confirmation of
 * an order we know is converted here, in PostgreSQL (`convertAllocation`, the same transaction the workflow's step
 * runs), before its signal goes to the order's workflow: its units stop being counted twice, and the keys go to
 * the shop's refresh, at the rate PostgreSQL converts (hundreds a second), not at the rate a 2-core Temporal takes
 * signals (tens a second). The signal still follows, through the order lane: the workflow's own conversion then
 * finds the units converted and brings its view (lines, state, the Web UI's search attributes) up to date. Its
 * payload says `refreshQueued`, so the workflow does not hand the same keys to the refresh a second time (before,
 * every known order's confirmation cost its keys two refreshes and two Shopify writes).
 *
 * Per confirmation, by what `lookForOrders` found:
 * - the order has a reservation: converted here, the whole batch in one transaction of a few statements
 *   (`convertKnownOrderConfirmations`); an order with no claim line yet, or whose claim is in flight (its lock
 *   taken), through `convertAllocation` after it, one at a time (that one waits for the claim);
 * - its first claim is in flight (the order's lock is taken, no reservation yet): left to its workflow, which the
 *   claim's event reaches first (a claim that rolled back would leave a reservation no workflow runs);
 * - neither: the row is done; the confirmation waits in wms_allocations for the order's claim
 *   (src/db/early-confirmations.ts).
 *
 * A batch that fails is converted one order at a time, so a confirmation that fails every time holds back its own
 * order only. An order's conversion that fails (a deadlock PostgreSQL broke, a connection lost) gives its rows back
 * for the next sweep; a repeat converts nothing twice.
 */

type ConfirmationDeps = Pick<HttpDeps, 'db' | 'config'> & Partial<Pick<HttpDeps, 'metrics' | 'logger'>> & {
  /** Called once a pass marked rows converted (the sweeper kicks its refresh and order lanes). */
  converted?: () => void;
};

export interface ConfirmationPassResult {
  /** Rows past the lane: converted, left to a workflow, or left for an order not seen yet. */
  done: number;
  claimed: number;
  /** Confirmations converted here (their keys were queued for the refresh). */
  converted: number;
  failed: boolean;
}

/** Rows per pass. */
export const CONFIRMATION_BATCH = 256;
/** A confirmation that has failed to convert for this long is left to its workflow. */
const LEAVE_TO_WORKFLOW_AFTER_MS = 60_000;
/** A lease outlives any pass; past it, another sweeper may take the rows. */
const LEASE_MS = 30_000;

export async function confirmationPass(deps: ConfirmationDeps, shops: string[], minAgeMs: number): Promise<ConfirmationPassResult> {
  const passEnd = deps.metrics?.handoffPassSeconds.startTimer({ outbox: 'confirmation', step: 'claim' });
  const rows = await claimUnconvertedConfirmations(deps.db, { shops, limit: CONFIRMATION_BATCH, minAgeMs, leaseMs: LEASE_MS });
  if (rows.length === 0) {
    passEnd?.();
    return { done: 0, claimed: 0, converted: 0, failed: false };
  }
  const seen = await lookForOrders(deps.db, rows.map((r) => r.handoff));
  passEnd?.();

  const unseen: string[] = [];
  const passed: string[] = [];
  /** Of `passed`, the rows converted here: their keys are in `dirty`, so their workflows owe no refresh for them. */
  const queued: string[] = [];
  const retry: string[] = [];
  const dirty = new Map<string, { shopId: string; key: SkuLocation; trigger: string }>();
  const byOrder = new Map<string, ReservationHandoffRow[]>();
  const lag = (r: ReservationHandoffRow) => deps.metrics?.handoffLagSeconds.observe({ outbox: 'confirmation' }, (Date.now() - r.createdAt.getTime()) / 1000);
  for (const r of rows) {
    const what = seen(r.handoff);
    if (what === 'unseen') {
      unseen.push(r.id);
      deps.metrics?.confirmationsBeforeOrder.inc();
      lag(r);
    } else if (what === 'claimInFlight') {
      passed.push(r.id);
      lag(r);
    } else {
      const id = orderKey(r.handoff);
      const list = byOrder.get(id);
      if (list) list.push(r);
      else byOrder.set(id, [r]);
    }
  }

  // One transaction for the batch; orders with no claim line yet (their first lines take every waiting
  // confirmation over) or a claim in flight, or all of them when the batch failed, one at a time after it, each
  // order's confirmations in commit order.
  let converted = 0;
  const convertEnd = deps.metrics?.handoffPassSeconds.startTimer({ outbox: 'confirmation', step: 'convert' });
  const known = [...byOrder.values()].flat();
  const markDirty = (shopId: string, key: SkuLocation) => dirty.set(`${shopId}\u0000${key.sku}\u0000${key.locationId}`, { shopId, key, trigger: 'wms_allocation' });
  const item = (r: ReservationHandoffRow) => ({ shopId: r.handoff.shopId, orderId: r.handoff.orderId, allocation: r.handoff.payload as AllocationEvent });
  let oneByOne: Set<ReservationHandoffRow>;
  try {
    const out = await convertKnownOrderConfirmations({ db: deps.db }, known.map(item));
    for (const k of out.changedKeys) markDirty(k.shopId, k.key);
    const waiting = new Set(out.oneByOne.map(orderKey));
    oneByOne = new Set(known.filter((r) => waiting.has(orderKey(r.handoff))));
    for (const r of known) {
      if (oneByOne.has(r)) continue;
      passed.push(r.id);
      queued.push(r.id);
      converted++;
      lag(r);
    }
  } catch (err) {
    // One order at a time instead, so a confirmation that fails every time (whatever the cause) holds back its own
    // order only, not the batch.
    deps.logger?.warn({ confirmations: known.length, err }, 'a batch of WMS confirmations could not be converted; converting them one order at a time');
    oneByOne = new Set(known);
  }
  for (const list of byOrder.values()) {
    const mine = list.filter((r) => oneByOne.has(r));
    for (let i = 0; i < mine.length; i++) {
      const r = mine[i]!;
      const { shopId, orderId } = r.handoff;
      try {
        const out = await convertAllocation({ db: deps.db }, { ...item(r), workflowId: workflowIds.reservation(shopId, orderId), origin: null });
        for (const key of out.changedKeys) markDirty(shopId, key);
        converted++;
        passed.push(r.id);
        queued.push(r.id);
        lag(r);
      } catch (err) {
        if (Date.now() - r.createdAt.getTime() > LEAVE_TO_WORKFLOW_AFTER_MS) {
          // Failing for a minute: no longer the lane's. The order's workflow converts it on its signal, retried by
          // Temporal on its own (visible in the Web UI), so it no longer sends the lane into backoff.
          deps.logger?.error({ shopId, orderId, err }, 'a WMS confirmation kept failing to convert; it is left to its workflow');
          passed.push(r.id);
          continue;
        }
        // This one and the order's later ones wait for the next sweep, in order.
        deps.logger?.warn({ shopId, orderId, err }, 'a WMS confirmation could not be converted; it waits for the next sweep');
        retry.push(...mine.slice(i).map((x) => x.id));
        break;
      }
    }
  }
  convertEnd?.();

  const settleEnd = deps.metrics?.handoffPassSeconds.startTimer({ outbox: 'confirmation', step: 'settle' });
  await markConverted(deps.db, passed, [...dirty.values()], queued);
  await deleteHandoffs(deps.db, 'reservation', unseen);
  await releaseHandoffs(deps.db, 'reservation', retry);
  settleEnd?.();
  if (passed.length > 0) deps.converted?.();
  return { done: passed.length + unseen.length, claimed: rows.length, converted, failed: retry.length > 0 };
}
