import { claimRefreshHandoffs, claimReservationHandoffs, deleteHandoffs, releaseHandoffs, type Outbox, type RefreshHandoffRow, type ReservationHandoffRow } from '../../db/handoffs.js';
import { CONFIRMATION_BATCH, confirmationPass } from './confirmations.js';
import { HANDOFF_DEADLINE_MS, markDirty, refreshPending, signalOrder } from '../../temporal/handoff.js';
import type { HttpDeps } from './deps.js';
import { createRefreshRoomGate, type RefreshRoomGate } from './refresh-room.js';

/**
 * The hand-off sweeper of the ingest outboxes (the rows are `src/db/handoffs.ts`). A route commits, answers, and
 * kicks the sweeper; the sweeper hands everything waiting to Temporal: one signal per shop and trigger for any
 * number of refresh keys, one signal-with-start per order event (several orders at once, each order's events in
 * order). While Temporal does not answer, rows wait and the sweeper retries with backoff; the requests were
 * already answered, so a Temporal outage costs latency to Shopify, not refused events.
 */

type SweepDeps = Pick<HttpDeps, 'db' | 'temporal' | 'taskQueue' | 'config'> & Partial<Pick<HttpDeps, 'metrics' | 'logger'>> & {
  /** Holds a shop's refresh keys in the outbox while its refresh has a large backlog (refresh-room.ts). */
  room?: RefreshRoomGate;
  /** A confirmation pass marked rows converted: their keys wait in the refresh outbox, their signals in the order lane. */
  converted?: () => void;
};

/** How long the sweeper waits for a shop's refresh to tell its backlog; unanswered, the gate keeps its estimate. */
const PENDING_QUERY_MS = 500;

/**
 * The sweeper's lanes: the two outboxes, and the WMS confirmations of the reservation outbox, which are converted in
 * PostgreSQL (confirmations.ts) before the order lane signals them.
 */
export type Lane = Outbox | 'confirmation';

export interface DrainResult {
  /** Rows handed to Temporal and deleted, per outbox; confirmations past the confirmation lane. */
  refresh: number;
  reservation: number;
  confirmation: number;
  /** Some hand-off failed (its rows stay for the next sweep). */
  failed: boolean;
}

/** Rows per claim. Refresh rows go out as a few signals whatever their number; order rows one signal-with-start each. */
const REFRESH_BATCH = 2000;
const RESERVATION_BATCH = 256;
/** Reservation workflows signalled at once: signal-with-start is one call per order. */
const ORDER_CONCURRENCY = 32;
/** A refresh signal slower than this is logged (with the shop and the keys it carried): it holds every key behind it. */
const SLOW_SIGNAL_MS = 1000;
/** A claim outlives any pass (each call is bounded by HANDOFF_DEADLINE_MS); past it, another sweeper may take the rows. */
const LEASE_MS = 30_000;

/**
 * One try of a refresh signal. A signal that reaches the shop's refresh workflow while it continues as new fails
 * that task; Temporal then turns signals away until the new run exists, and the client's retry backoff kept a
 * signal waiting 1.2-1.4 s after the new run had started (bench/ingest at 1,000 events/s, 2026-12-01). Past this,
 * the signal is sent again: a second copy is harmless, since a key marked dirty twice is refreshed once more at most.
 */
const SIGNAL_TRY_MS = 400;

const withinDeadline = <T>(deps: SweepDeps, work: () => Promise<T>) => deps.temporal.withDeadline(Date.now() + HANDOFF_DEADLINE_MS, work);

/** Sends a refresh signal in tries of SIGNAL_TRY_MS until HANDOFF_DEADLINE_MS, counting them in `count.tries`. */
async function signalRefresh(deps: SweepDeps, input: Parameters<typeof markDirty>[1], count: { tries: number }): Promise<void> {
  const deadline = Date.now() + HANDOFF_DEADLINE_MS;
  for (;;) {
    count.tries++;
    const tryUntil = Math.min(deadline, Date.now() + SIGNAL_TRY_MS);
    try {
      await deps.temporal.withDeadline(tryUntil, () => markDirty(deps, input));
      return;
    } catch (err) {
      if (Date.now() >= deadline - 10) throw err;
      // A try refused at once (Temporal down) waits out its window: at most one try per SIGNAL_TRY_MS.
      const rest = tryUntil - Date.now();
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  }
}

interface PassResult {
  done: number;
  claimed: number;
  failed: boolean;
}

/** Deletes what Temporal took, gives the rest back at once (not after the lease) for the next sweep. */
async function settle(deps: SweepDeps, outbox: Outbox, claimed: { id: string }[], handed: string[]): Promise<void> {
  const done = new Set(handed);
  await deleteHandoffs(deps.db, outbox, handed);
  await releaseHandoffs(
    deps.db,
    outbox,
    claimed.filter((r) => !done.has(r.id)).map((r) => r.id),
  );
}

/** Runs one step of a pass and records how long it took. */
async function step<T>(deps: SweepDeps, outbox: Lane, name: 'claim' | 'handoff' | 'settle', work: () => Promise<T>): Promise<T> {
  const end = deps.metrics?.handoffPassSeconds.startTimer({ outbox, step: name });
  try {
    return await work();
  } finally {
    end?.();
  }
}

async function refreshPass(deps: SweepDeps, allShops: string[], minAgeMs: number): Promise<PassResult> {
  const shops = deps.room ? await deps.room.open(allShops) : allShops;
  if (shops.length === 0) return { done: 0, claimed: 0, failed: false };
  const rows = await step(deps, 'refresh', 'claim', () => claimRefreshHandoffs(deps.db, { shops, limit: REFRESH_BATCH, minAgeMs, leaseMs: LEASE_MS }));
  if (rows.length === 0) return { done: 0, claimed: 0, failed: false };
  const groups = new Map<string, RefreshHandoffRow[]>();
  for (const r of rows) {
    const id = `${r.shopId}\u0000${r.trigger}`;
    const group = groups.get(id);
    if (group) group.push(r);
    else groups.set(id, [r]);
  }
  const handed: string[] = [];
  let failed = false;
  await step(deps, 'refresh', 'handoff', () => Promise.all(
    [...groups.values()].map(async (group) => {
      const keys = new Map(group.map((r) => [`${r.key.sku}\u0000${r.key.locationId}`, r.key]));
      const sent = Date.now();
      const count = { tries: 0 };
      const waited = () => ({ shopId: group[0]!.shopId, keys: keys.size, ms: Date.now() - sent, tries: count.tries, sentAt: new Date(sent).toISOString() });
      try {
        await signalRefresh(deps, { shopId: group[0]!.shopId, keys: [...keys.values()], trigger: group[0]!.trigger }, count);
      } catch (err) {
        failed = true;
        deps.logger?.warn({ ...waited(), err }, 'Temporal did not take a refresh signal; its keys wait in the outbox');
        return;
      }
      deps.room?.handed(group[0]!.shopId, keys.size);
      const now = Date.now();
      if (now - sent > SLOW_SIGNAL_MS) deps.logger?.warn(waited(), 'Temporal was slow to take a refresh signal');
      else if (count.tries > 1) deps.logger?.info(waited(), 'a refresh signal was sent again after a try Temporal did not answer in time');
      for (const r of group) {
        handed.push(r.id);
        deps.metrics?.handoffLagSeconds.observe({ outbox: 'refresh' }, (now - r.createdAt.getTime()) / 1000);
      }
    }),
  ));
  await step(deps, 'refresh', 'settle', () => settle(deps, 'refresh', rows, handed));
  return { done: handed.length, claimed: rows.length, failed };
}

async function reservationPass(deps: SweepDeps, shops: string[], minAgeMs: number): Promise<PassResult> {
  const rows = await step(deps, 'reservation', 'claim', () => claimReservationHandoffs(deps.db, { shops, limit: RESERVATION_BATCH, minAgeMs, leaseMs: LEASE_MS }));
  if (rows.length === 0) return { done: 0, claimed: 0, failed: false };
  // Per order, in id order: an order's events reach its workflow in the order the route committed them (its WMS
  // confirmations, converted already, may come after events committed later: claimReservationHandoffs).
  const byOrder = new Map<string, ReservationHandoffRow[]>();
  for (const r of rows) {
    const id = `${r.handoff.shopId}\u0000${r.handoff.orderId}`;
    const list = byOrder.get(id);
    if (list) list.push(r);
    else byOrder.set(id, [r]);
  }
  const orders = [...byOrder.values()];
  const handed: string[] = [];
  let failed = false;
  let next = 0;
  const lane = async () => {
    while (!failed && next < orders.length) {
      const list = orders[next++]!;
      for (const r of list) {
        try {
          await withinDeadline(deps, () => signalOrder(deps, r.handoff));
        } catch {
          failed = true;
          return;
        }
        handed.push(r.id);
        deps.metrics?.handoffLagSeconds.observe({ outbox: 'reservation' }, (Date.now() - r.createdAt.getTime()) / 1000);
      }
    }
  };
  await step(deps, 'reservation', 'handoff', () => Promise.all(Array.from({ length: Math.min(ORDER_CONCURRENCY, orders.length) }, lane)));
  await step(deps, 'reservation', 'settle', () => settle(deps, 'reservation', rows, handed));
  return { done: handed.length, claimed: rows.length, failed };
}

/**
 * Hands off every row of this configuration's shops at least `minAgeMs` old, batch after batch, until the outboxes
 * are empty or a hand-off fails. Tests call it directly to force the sweep.
 */
export async function drainHandoffs(deps: SweepDeps, opts: { minAgeMs?: number; outboxes?: ReadonlySet<Lane> } = {}): Promise<DrainResult> {
  const shops = deps.config.shops.map((s) => s.id);
  const minAgeMs = opts.minAgeMs ?? 0;
  const result: DrainResult = { refresh: 0, reservation: 0, confirmation: 0, failed: false };
  // Confirmations first: their conversions queue refresh keys, and their rows are then signalled.
  for (const [outbox, pass, batch] of [
    ['confirmation', confirmationPass, CONFIRMATION_BATCH],
    ['refresh', refreshPass, REFRESH_BATCH],
    ['reservation', reservationPass, RESERVATION_BATCH],
  ] as const) {
    if (opts.outboxes && !opts.outboxes.has(outbox)) continue;
    for (;;) {
      const r = await pass(deps, shops, minAgeMs);
      result[outbox] += r.done;
      if (r.failed) result.failed = true;
      if (r.failed || r.claimed < batch) break;
    }
  }
  return result;
}

export interface HandoffSweeper {
  /** A route committed rows to `lane`: hand them off now (or right after the sweep in flight). */
  kick(lane: Lane): void;
  /** Starts the periodic sweep (rows another process left, or a retry after a failure). */
  start(): void;
  /** Stops the timers and waits for the sweep in flight. */
  stop(): Promise<void>;
}

/**
 * One per server process, with a lane per outbox: a kick drains its outbox at once; kicks that arrive meanwhile
 * fold into one more drain, so under load each drain takes everything that committed during the previous one (a
 * batch per Temporal round trip). The lanes run side by side: refresh keys never wait behind a drain of order
 * signals, which Temporal takes one signal-with-start at a time (tens a second on a dev server), nor the other
 * way round. A third lane converts WMS confirmations in PostgreSQL (confirmations.ts) and kicks the other two
 * after each pass that did: their keys go to the refresh lane, their signals to the order lane, and a burst of
 * confirmations no longer waits for Temporal to be counted right. After a failure a lane's kicks wait out a
 * backoff (0.25 s doubling to 10 s) instead of hammering a Temporal that is down. The periodic sweep takes rows
 * older than `periodicMinAgeMs` only: younger ones belong to a live process's kick.
 */
export function createHandoffSweeper(given: SweepDeps & Pick<HttpDeps, 'logger'>, opts: { intervalMs?: number; periodicMinAgeMs?: number } = {}): HandoffSweeper {
  const deps: SweepDeps & Pick<HttpDeps, 'logger'> = {
    ...given,
    // Each pass's keys go to the refresh at once, not when a drain that a steady stream of confirmations keeps
    // going ends (a burst of 2,000 reached Shopify at p90 5.3 s that way, against a conversion p99 under 1 s).
    converted: () => {
      lanes.refresh.sweep(0);
      lanes.reservation.sweep(0);
    },
    room:
      given.room ??
      createRefreshRoomGate({
        pendingOf: (shopId) => given.temporal.withDeadline(Date.now() + PENDING_QUERY_MS, () => refreshPending(given, shopId)),
        onChange: ({ shopId, held, pending }) =>
          held
            ? given.logger.warn({ shopId, pending }, "the shop's refresh has a large backlog: its new keys wait in the outbox until it has room")
            : given.logger.info({ shopId, pending }, "the shop's refresh has room again: its keys are handed over"),
      }),
  };
  const intervalMs = opts.intervalMs ?? 5000;
  const periodicMinAgeMs = opts.periodicMinAgeMs ?? 5000;
  let periodic: NodeJS.Timeout | undefined;
  let stopped = false;

  const lane = (outbox: Lane) => {
    const only: ReadonlySet<Lane> = new Set([outbox]);
    let running: Promise<void> | null = null;
    let again = false;
    let failures = 0;
    let retry: NodeJS.Timeout | undefined;

    const backoff = () => {
      failures++;
      const delay = Math.min(10_000, 250 * 2 ** (failures - 1));
      retry = setTimeout(() => {
        retry = undefined;
        sweep(0);
      }, delay);
      retry.unref();
    };

    function sweep(minAgeMs: number): void {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      if (retry) return; // backing off; the retry drains everything waiting
      running = (async () => {
        try {
          do {
            again = false;
            const r = await drainHandoffs(deps, { minAgeMs, outboxes: only });
            if (r.failed) {
              if (failures === 0) {
                deps.logger.warn(
                  { outbox },
                  outbox === 'confirmation'
                    ? 'a WMS confirmation could not be converted; it waits in the outbox and the sweeper retries'
                    : 'Temporal did not take a hand-off; the rows wait in the outbox and the sweeper retries',
                );
              }
              backoff();
              return;
            }
            if (failures > 0) deps.logger.info({ outbox, afterFailures: failures }, 'hand-offs resumed');
            failures = 0;
            minAgeMs = 0;
          } while (again && !stopped);
        } catch (err) {
          deps.logger.warn({ outbox, err }, 'hand-off sweep failed; retrying');
          backoff();
        } finally {
          running = null;
        }
      })();
    }

    return {
      sweep,
      async stop() {
        clearTimeout(retry);
        await running;
      },
    };
  };
  const lanes: Record<Lane, ReturnType<typeof lane>> = { confirmation: lane('confirmation'), refresh: lane('refresh'), reservation: lane('reservation') };
  const all = Object.values(lanes);

  return {
    kick: (name) => lanes[name].sweep(0),
    start() {
      if (periodic || stopped) return;
      periodic = setInterval(() => {
        for (const l of all) l.sweep(periodicMinAgeMs);
      }, intervalMs);
      periodic.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(periodic);
      await Promise.all(all.map((l) => l.stop()));
    },
  };
}
