import { REFRESH_HIGH_WATER, REFRESH_LOW_WATER } from '../../temporal/handoff.js';

/**
 * Flow control between the refresh outbox and each shop's refresh workflow, for what the HTTP routes commit.
 *
 * A refresh run carries at most 5,000 pending keys into its next run, so it continues as new only once its backlog
 * is that small. Keys arriving faster than Shopify takes them (a source pushing a large catalogue, or a token used
 * against the shop) kept the backlog above that: the run's history grew until Temporal's 50 MB limit terminated it,
 * and every pending key with it (found by a review of what one valid token can do). The CLI's full sync and the
 * benches already waited for room (`waitForRefreshRoom`); the routes' sweeper did not.
 *
 * The gate holds a shop's keys in the outbox (durable, answered 202 already) once its refresh has more than
 * `highWater` pending, and lets them go again once it is down to `lowWater`, so the run gets to continue as new.
 * It asks the workflow at most once per `recheckMs` per shop, and counts the keys it hands over in between. A pass
 * waits for the answer `quickMs` at most, then goes on with the estimate while the answer comes: a query is a task on
 * the worker, and with the worker busy (2,000 orders' workflows taking signals, bench/ingest) it took up to the
 * hand-off's 500 ms deadline, once a second, while every refresh key of the process waited behind it.
 */
export interface RefreshRoomGate {
  /** The shops whose keys may be handed over now. */
  open(shops: readonly string[]): Promise<string[]>;
  /** Keys just handed to a shop's refresh: pending there until the next look. */
  handed(shopId: string, keys: number): void;
}

export interface RefreshRoomOptions {
  /** The shop's pending keys (the refresh workflow's query; 0 when it is not running). */
  pendingOf(shopId: string): Promise<number>;
  highWater?: number;
  lowWater?: number;
  recheckMs?: number;
  /** How long a pass waits for the workflow's answer before it goes on with the estimate (default 25 ms). */
  quickMs?: number;
  now?: () => number;
  /** Told when a shop is held back or let go again (the server logs it). */
  onChange?(change: { shopId: string; held: boolean; pending: number }): void;
}

export function createRefreshRoomGate(opts: RefreshRoomOptions): RefreshRoomGate {
  const high = opts.highWater ?? REFRESH_HIGH_WATER;
  const low = opts.lowWater ?? REFRESH_LOW_WATER;
  const recheckMs = opts.recheckMs ?? 1000;
  const quickMs = opts.quickMs ?? 25;
  const now = opts.now ?? Date.now;
  const shops = new Map<string, { pending: number; at: number; held: boolean; asking?: boolean }>();

  const hold = (shopId: string, state: { pending: number; held: boolean }, held: boolean) => {
    if (state.held === held) return;
    state.held = held;
    opts.onChange?.({ shopId, held, pending: state.pending });
  };

  return {
    async open(list) {
      const closed = new Set<string>();
      await Promise.all(
        list.map(async (shopId) => {
          const state = shops.get(shopId);
          // A shop we handed nothing to since its refresh was last seen empty is not asked: most shops, most passes.
          if (!state) return;
          if (now() - state.at >= recheckMs && !state.asking) {
            // A refresh that cannot be asked (its worker restarting) is not held on that account: the estimate stays.
            state.asking = true;
            const answered = opts
              .pendingOf(shopId)
              .then((pending) => void (state.pending = pending), () => undefined)
              .finally(() => {
                state.asking = false;
                state.at = now();
              });
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, quickMs)))]);
            clearTimeout(timer);
          }
          hold(shopId, state, state.pending > (state.held ? low : high));
          if (state.held) closed.add(shopId);
          else if (state.pending === 0) shops.delete(shopId);
        }),
      );
      return list.filter((s) => !closed.has(s));
    },
    handed(shopId, keys) {
      const state = shops.get(shopId) ?? { pending: 0, at: now(), held: false };
      shops.set(shopId, state);
      state.pending += keys;
      if (state.pending > high) hold(shopId, state, true);
    },
  };
}
