import type { Client } from '@temporalio/client';
import { KEYS_DIRTY_SIGNAL, PENDING_QUERY, SHOP_REFRESH_WORKFLOW_TYPE, workflowIds } from '../domain/keys.js';
import {
  RESERVATION_WORKFLOW_TYPE,
  reservationInput,
  type ALLOCATION_SIGNAL,
  type AllocationEvent,
  type ORDER_EVENT_SIGNAL,
  type OrderEvent,
} from '../domain/reservation-model.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import type { reservationWorkflow } from '../workflows/reservation.js';
import type { DirtyKeys, shopRefreshWorkflow } from '../workflows/shop-refresh.js';

/**
 * The hand-off to workflows: the one place outside `src/workflows` that starts or signals them. Routes, the CLI
 * and activities hand keys to a shop's refresh workflow (`markDirty`, through the dirty batcher) and order events
 * to an order's reservation workflow (`signalOrder`, `handOff`). Workflow types and signal names are checked
 * against the workflow functions and the payloads their signals take.
 */
export const workflowTypes = { shopRefresh: SHOP_REFRESH_WORKFLOW_TYPE, reservation: RESERVATION_WORKFLOW_TYPE } as const;

/** The payload each signal an outside caller sends takes. */
export interface OrderSignals {
  [ORDER_EVENT_SIGNAL]: OrderEvent;
  [ALLOCATION_SIGNAL]: AllocationEvent;
}
export type OrderSignalName = keyof OrderSignals;

export interface MarkDirtyDeps {
  temporal: Client;
  taskQueue: string;
}

export interface MarkDirtyInput {
  shopId: string;
  keys: SkuLocation[];
  trigger: string;
}

/** Hands keys to the shop's coalescing refresh workflow, starting it when it is not running. */
export async function markDirty(deps: MarkDirtyDeps, input: MarkDirtyInput): Promise<void> {
  if (input.keys.length === 0) return;
  await deps.temporal.workflow.signalWithStart<typeof shopRefreshWorkflow, [DirtyKeys]>(workflowTypes.shopRefresh, {
    workflowId: workflowIds.refresh(input.shopId),
    taskQueue: deps.taskQueue,
    args: [{ shopId: input.shopId, pending: [] }],
    signal: KEYS_DIRTY_SIGNAL,
    signalArgs: [{ keys: input.keys, trigger: input.trigger }],
  });
}

/**
 * Flow control for producers that can outpace the refresh (a forced full sync of a large catalogue, a bench): the
 * shop's refresh workflow carries every dirty key in a signal and every flush's keys in an activity input, and a
 * run continues as new only with at most MAX_CARRIED_KEYS (5,000, src/workflows/shop-refresh.ts) pending. A
 * producer that piles up hundreds of thousands of pending keys grows one run's history past Temporal's 50 MB
 * limit, which ends the run (issue 17). Before handing on `incoming` keys such a producer waits while the shop has
 * more than `highWater` pending, until it is down to `lowWater`: the run can then continue as new, and the
 * refresh still has a full backlog to work on.
 */
export interface RefreshRoom {
  /** Wait when pending + incoming would pass this. Default 20,000. */
  highWater?: number;
  /** Then wait until pending is at most this. Default 5,000 (what a run may carry over continue-as-new). */
  lowWater?: number;
  /** Between looks at the pending count. Default 250 ms. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Told every pending count read (tests, progress). */
  onPending?(pending: number): void;
}

export const REFRESH_HIGH_WATER = 20_000;
export const REFRESH_LOW_WATER = 5_000;

/** Keys waiting in the shop's refresh workflow (not those in flight); 0 when it is not running. */
export async function refreshPending(deps: Pick<MarkDirtyDeps, 'temporal'>, shopId: string): Promise<number> {
  try {
    return await deps.temporal.workflow.getHandle(workflowIds.refresh(shopId)).query<number>(PENDING_QUERY);
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return 0;
    throw err;
  }
}

/** Resolves when the shop's refresh has room for `incoming` more keys (see RefreshRoom); returns the waits it made. */
export async function waitForRefreshRoom(deps: Pick<MarkDirtyDeps, 'temporal'>, shopId: string, incoming: number, opts: RefreshRoom = {}): Promise<number> {
  const high = opts.highWater ?? REFRESH_HIGH_WATER;
  const low = opts.lowWater ?? REFRESH_LOW_WATER;
  const pollMs = opts.pollMs ?? 250;
  let pending = await refreshPending(deps, shopId);
  opts.onPending?.(pending);
  if (pending + incoming <= high) return 0;
  let waits = 0;
  while (pending > low) {
    opts.signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, pollMs));
    waits++;
    pending = await refreshPending(deps, shopId);
    opts.onPending?.(pending);
  }
  return waits;
}

interface Waiter {
  keys: SkuLocation[];
  trigger: string;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for markDirty: while one signal to a shop's refresh workflow is in flight, further calls for that
 * shop queue up and go as one signal per trigger when it returns. Each caller still resolves only once its keys
 * are with Temporal; at low load nothing waits, under a burst of small requests Temporal sees a few signals
 * instead of one per request.
 */
export function createDirtyBatcher(deps: MarkDirtyDeps) {
  const queued = new Map<string, Waiter[]>();
  const inFlight = new Set<string>();

  async function drain(shopId: string): Promise<void> {
    inFlight.add(shopId);
    try {
      for (;;) {
        const waiters = queued.get(shopId) ?? [];
        queued.delete(shopId);
        if (waiters.length === 0) return;
        const byTrigger = new Map<string, Waiter[]>();
        // Appended in place: copying the list per waiter made a burst of n waiters cost n^2.
        for (const w of waiters) {
          const group = byTrigger.get(w.trigger);
          if (group) group.push(w);
          else byTrigger.set(w.trigger, [w]);
        }
        await Promise.all(
          [...byTrigger].map(async ([trigger, group]) => {
            const keys = new Map<string, SkuLocation>();
            for (const w of group) for (const k of w.keys) keys.set(skuLocationKey(k), k);
            try {
              await markDirty(deps, { shopId, keys: [...keys.values()], trigger });
              for (const w of group) w.resolve();
            } catch (err) {
              for (const w of group) w.reject(err);
            }
          }),
        );
      }
    } finally {
      inFlight.delete(shopId);
    }
  }

  return {
    markDirty(input: MarkDirtyInput): Promise<void> {
      if (input.keys.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const list = queued.get(input.shopId) ?? [];
        list.push({ keys: input.keys, trigger: input.trigger, resolve, reject });
        queued.set(input.shopId, list);
        if (!inFlight.has(input.shopId)) void drain(input.shopId);
      });
    },
  };
}

export interface OrderHandoffDeps {
  temporal: Client;
  taskQueue: string;
  config: { inventory_sync: { reservations: Parameters<typeof reservationInput>[0] } };
}

/** What a route hands to an order's workflow; stored as-is with a webhook delivery until Temporal has it. */
export interface OrderHandoff<S extends OrderSignalName = OrderSignalName> {
  shopId: string;
  orderId: string;
  signal: S;
  payload: OrderSignals[S];
}

/** Signal-with-start: the first event of an order starts its workflow, later ones signal it. Returns the workflow id. */
export async function signalOrder(deps: OrderHandoffDeps, h: OrderHandoff): Promise<string> {
  const workflowId = workflowIds.reservation(h.shopId, h.orderId);
  await deps.temporal.workflow.signalWithStart<typeof reservationWorkflow, [OrderSignals[OrderSignalName]]>(workflowTypes.reservation, {
    workflowId,
    taskQueue: deps.taskQueue,
    args: [reservationInput(deps.config.inventory_sync.reservations, h.shopId, h.orderId)],
    signal: h.signal,
    signalArgs: [h.payload],
  });
  return workflowId;
}

/** How long one hand-off may take: after it the caller (the webhook route, the outbox sweeper) leaves the row for a later sweep. */
export const HANDOFF_DEADLINE_MS = 2000;

/** `signalOrder` within the hand-off deadline. */
export async function handOff(deps: OrderHandoffDeps, h: OrderHandoff): Promise<string> {
  return deps.temporal.withDeadline(Date.now() + HANDOFF_DEADLINE_MS, () => signalOrder(deps, h));
}
