import { Context } from '@temporalio/activity';
import type { Db } from '../db/pool.js';
import { openShopifyReservations, ordersWithReservation, recordOrdersStarted } from '../db/reconciliation.js';
import { ORDER_EVENT_SIGNAL, reservationTtlSeconds, type OrderEvent } from '../domain/reservation-model.js';
import { signalOrder } from '../temporal/handoff.js';
import type { OrderSummary } from '../shopify/client/reads.js';
import type { ReconcileDeps } from './reconcile.js';

/** How long reconciliation waits for the claims of the orders it handed on (read from PostgreSQL). */
export const CLAIM_WAIT_MS = 30_000;
/** Hand-offs in flight at once: one signal-with-start each, on a Temporal that may be busy after a sale. */
export const HANDOFF_CONCURRENCY = 8;
/** A worker alive heartbeats at least this often (the workflow's heartbeat timeout is 20 s). */
const HEARTBEAT_EVERY_MS = 5_000;

/**
 * What an attempt has done, carried in its heartbeats: a retried attempt (its worker was killed) resumes from it
 * rather than handing every order off again. `handedOff` are the order ids already given to their workflows.
 */
export interface MissedOrdersProgress {
  handedOff: string[];
  /** Cancelled orders whose lost cancellation was handed to their workflow (absent in older attempts' details). */
  cancelsHandedOff?: string[];
  /** Orders passed over (young, or their webhook is in the ledger), for the report. */
  skippedYoung: number;
  skippedInLedger: number;
  phase: 'listing' | 'waiting';
}

export interface MissedOrdersResult {
  started: number;
  skippedYoung: number;
  skippedInLedger: number;
  /** Handed-off orders whose claims were not in PostgreSQL when the wait ended (their workflows claim later). */
  unclaimed: number;
  /** Orders Shopify shows cancelled while we still held their claims: their cancellation handed to the workflow. */
  cancelled: number;
  /** Of those, the ones whose claims were still held when the wait ended (their workflows release them later). */
  unreleased: number;
}

/** The activity's link to Temporal: what the previous attempt reported, and where to report. Absent in plain calls. */
export interface ProgressPort {
  resumeFrom(): MissedOrdersProgress | undefined;
  heartbeat(progress: MissedOrdersProgress): void;
}

function temporalProgressPort(): ProgressPort | undefined {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return undefined;
  }
  return {
    resumeFrom: () => ctx.info.heartbeatDetails as MissedOrdersProgress | undefined,
    heartbeat: (p) => ctx.heartbeat(p),
  };
}

export type MissedOrderDeps = Pick<ReconcileDeps, 'db' | 'config' | 'shopify' | 'temporal' | 'taskQueue'>;

const numericId = (id: string) => id.replace(/^gid:\/\/shopify\/[A-Za-z]+\//, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Orders of the shop whose webhook the server recorded (pending deliveries are handed off by the outbox sweeper). */
async function ordersInLedger(db: Pick<Db, 'query'>, shopDomain: string, orderIds: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ subject_id: string }>(
    `SELECT DISTINCT subject_id FROM webhook_deliveries
      WHERE shop_domain = $1 AND subject_id = ANY($2::text[]) AND topic LIKE 'orders/%' AND outcome <> 'unrouted'`,
    [shopDomain, orderIds],
  );
  return new Set(rows.map((r) => r.subject_id));
}

/** Orders a page (one PostgreSQL lookup) at a time, as Shopify lists them. */
async function inPages(orders: AsyncIterable<OrderSummary>, fn: (page: OrderSummary[]) => Promise<void>, size = 100): Promise<void> {
  let page: OrderSummary[] = [];
  for await (const order of orders) {
    page.push(order);
    if (page.length === size) {
      await fn(page);
      page = [];
    }
  }
  await fn(page);
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

/**
 * Reconciliation's net for lost webhooks (Shopify does not guarantee them). Open, unfulfilled orders updated
 * within the reservation TTL that have no reservation are handed to their workflow as if their orders/create had
 * arrived (signal-with-start: a webhook arriving at the same moment lands in the same workflow, whose claims are
 * idempotent). Passed over:
 * - orders updated within `missed_order_grace_seconds`: their webhook may still be on its way (Shopify retries
 *   for hours; after a flash sale our own backlog delays them too);
 * - orders the webhook ledger already holds a delivery for: the outbox's sweeper hands a pending one off, a
 *   signalled one is with its workflow already.
 * Hand-offs run `HANDOFF_CONCURRENCY` at a time. The attempt heartbeats its progress: a killed worker's attempt is
 * retried after the heartbeat timeout and resumes where it was. Then it waits (bounded) until PostgreSQL holds the
 * claims of the orders it handed on: drift is judged against ATS right after, and without them a page would
 * "correct" Shopify back up by the very units these orders hold.
 */
export async function handOnMissedOrders(
  deps: MissedOrderDeps,
  input: { runId: number; shopId: string },
  port: ProgressPort | undefined,
  opts: { claimWaitMs?: number } = {},
): Promise<MissedOrdersResult> {
  const { reservations, reconciliation } = deps.config.inventory_sync;
  const shop = deps.config.shops.find((s) => s.id === input.shopId);
  const now = Date.now();
  const since = new Date(now - reservationTtlSeconds(reservations) * 1000);
  const youngerThan = now - reconciliation.missed_order_grace_seconds * 1000;
  const previous = port?.resumeFrom();
  const progress: MissedOrdersProgress = {
    handedOff: [...(previous?.handedOff ?? [])],
    cancelsHandedOff: [...(previous?.cancelsHandedOff ?? [])],
    skippedYoung: 0,
    skippedInLedger: 0,
    phase: 'listing',
  };
  const done = new Set(progress.handedOff);
  const beat = port ? setInterval(() => port.heartbeat(progress), HEARTBEAT_EVERY_MS) : undefined;
  port?.heartbeat(progress);
  try {
    const handOn = async (orders: OrderSummary[]) => {
      // An order of more lines than the listing holds may still hold units past them: its workflow reads them all.
      const candidates = orders.filter((o) => !done.has(numericId(o.orderId)) && (o.moreLines || o.lines.some((l) => l.quantity > 0)));
      const young = candidates.filter((o) => Date.parse(o.updatedAt) > youngerThan);
      progress.skippedYoung += young.length;
      const old = candidates.filter((o) => Date.parse(o.updatedAt) <= youngerThan);
      if (old.length === 0) return;
      const ids = old.map((o) => numericId(o.orderId));
      const [known, inLedger] = await Promise.all([
        ordersWithReservation(deps.db, input.shopId, ids),
        shop ? ordersInLedger(deps.db, shop.domain, ids) : Promise.resolve(new Set<string>()),
      ]);
      const missing = old.filter((o) => {
        const id = numericId(o.orderId);
        if (known.has(id)) return false;
        if (inLedger.has(id)) {
          progress.skippedInLedger += 1;
          return false;
        }
        return true;
      });
      await inParallel(missing, HANDOFF_CONCURRENCY, async (order) => {
        const orderId = numericId(order.orderId);
        const event: OrderEvent = {
          kind: 'created',
          origin: 'shopify',
          at: order.updatedAt,
          deliveryId: `reconciliation:${input.runId}`,
          lines: order.lines
            .filter((l) => l.quantity > 0)
            .map((l) => ({ lineId: numericId(l.lineItemId), variantId: l.variantId ? numericId(l.variantId) : null, sku: l.sku, quantity: l.quantity })),
        };
        await signalOrder(deps, { shopId: input.shopId, orderId, signal: ORDER_EVENT_SIGNAL, payload: event });
        done.add(orderId);
        progress.handedOff.push(orderId);
      });
      port?.heartbeat(progress);
    };
    await inPages(deps.shopify(input.shopId).listOpenOrdersUpdatedSince(since), handOn);

    // Lost cancellations: an order Shopify shows cancelled whose reservation still holds claims (its
    // orders/cancelled and orders/updated webhooks both lost) gets its cancellation from here, or it would hold
    // its units until the reservation expires (found by the chaos soak: 5% of webhooks dropped, 338 cancels).
    const cancels = new Set(progress.cancelsHandedOff);
    const handOnCancels = async (orders: OrderSummary[]) => {
      const old = orders.filter((o) => {
        if (cancels.has(numericId(o.orderId))) return false;
        if (Date.parse(o.updatedAt) > youngerThan) {
          progress.skippedYoung += 1;
          return false;
        }
        return true;
      });
      if (old.length === 0) return;
      const open = await openShopifyReservations(deps.db, input.shopId, old.map((o) => numericId(o.orderId)));
      await inParallel(
        old.filter((o) => open.has(numericId(o.orderId))),
        HANDOFF_CONCURRENCY,
        async (order) => {
          const orderId = numericId(order.orderId);
          const event: OrderEvent = { kind: 'cancelled', origin: 'shopify', at: order.updatedAt, deliveryId: `reconciliation:${input.runId}` };
          await signalOrder(deps, { shopId: input.shopId, orderId, signal: ORDER_EVENT_SIGNAL, payload: event });
          cancels.add(orderId);
          progress.cancelsHandedOff!.push(orderId);
        },
      );
      port?.heartbeat(progress);
    };
    await inPages(deps.shopify(input.shopId).listCancelledOrdersUpdatedSince(since), handOnCancels);

    progress.phase = 'waiting';
    port?.heartbeat(progress);
    const deadline = Date.now() + (opts.claimWaitMs ?? CLAIM_WAIT_MS);
    let waiting = [...done];
    let releasing = [...cancels];
    while (waiting.length > 0 || releasing.length > 0) {
      const [claimed, open] = await Promise.all([ordersWithReservation(deps.db, input.shopId, waiting), openShopifyReservations(deps.db, input.shopId, releasing)]);
      waiting = waiting.filter((id) => !claimed.has(id));
      releasing = releasing.filter((id) => open.has(id));
      if ((waiting.length === 0 && releasing.length === 0) || Date.now() >= deadline) break;
      await sleep(250);
    }
    const started = progress.handedOff.length;
    if (started > 0) await recordOrdersStarted(deps.db, input.shopId, input.runId, started);
    return { started, skippedYoung: progress.skippedYoung, skippedInLedger: progress.skippedInLedger, unclaimed: waiting.length, cancelled: cancels.size, unreleased: releasing.length };
  } finally {
    if (beat) clearInterval(beat);
  }
}

export function createMissedOrderActivities(deps: MissedOrderDeps) {
  async function startMissingReservations(input: { runId: number; shopId: string }): Promise<MissedOrdersResult> {
    return handOnMissedOrders(deps, input, temporalProgressPort());
  }
  return { startMissingReservations };
}
