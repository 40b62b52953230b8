import type { ThrottleStatus } from './admin-client.js';

/** What Shopify last told us about one shop's leaky bucket, and when we heard it. */
export interface BucketModel extends ThrottleStatus {
  observedAt: number;
}

/** A granted reservation carries a token; settling it frees exactly what it reserved. */
export type ReserveOutcome = { granted: true; token: string } | { granted: false; waitMs: number };

/**
 * Where a shop's bucket model and in-flight reservations live. In memory by default; a shared store
 * (Redis, one hash per shop, the two operations as Lua scripts) lets several worker processes of one shop
 * pace together, because the bucket Shopify keeps is per app and shop, not per process.
 */
export interface BudgetStore {
  /** Atomically reserve `cost` points if the projected bucket holds them now, else say how long to wait. */
  tryReserve(shopKey: string, cost: number, now: number): Promise<ReserveOutcome>;
  /** Drop a reservation once its response arrived, and adopt the bucket state that response reported. */
  settle(shopKey: string, token: string, status: ThrottleStatus | undefined, now: number): Promise<void>;
  peek(shopKey: string): Promise<BucketModel | undefined>;
}

interface ShopState {
  model: BucketModel | undefined;
  reserved: number;
  inFlight: number;
  reservations: Map<string, number>;
}

export interface InMemoryBudgetStoreOptions {
  /** Upper bound on concurrent calls per shop, whatever the budget says. */
  maxInFlight?: number;
}

export class InMemoryBudgetStore implements BudgetStore {
  private readonly shops = new Map<string, ShopState>();
  private readonly maxInFlight: number;
  private nextToken = 0;

  constructor(opts: InMemoryBudgetStoreOptions = {}) {
    this.maxInFlight = opts.maxInFlight ?? 8;
  }

  private state(shopKey: string): ShopState {
    let s = this.shops.get(shopKey);
    if (s === undefined) {
      s = { model: undefined, reserved: 0, inFlight: 0, reservations: new Map() };
      this.shops.set(shopKey, s);
    }
    return s;
  }

  async tryReserve(shopKey: string, cost: number, now: number): Promise<ReserveOutcome> {
    const s = this.state(shopKey);
    if (s.inFlight >= this.maxInFlight) return { granted: false, waitMs: 5 };
    if (s.model === undefined) {
      // Nothing known yet: one probe goes alone and its response teaches us the bucket.
      if (s.inFlight > 0) return { granted: false, waitMs: 10 };
      return this.grant(s, cost);
    }
    const need = Math.min(cost, s.model.maximumAvailable);
    const free = projectAvailable(s.model, now) - s.reserved;
    if (free >= need) return this.grant(s, cost);
    const rate = Math.max(s.model.restoreRate, 1);
    return { granted: false, waitMs: Math.max(2, Math.ceil(((need - free) / rate) * 1000)) };
  }

  private grant(s: ShopState, cost: number): ReserveOutcome {
    const token = String((this.nextToken += 1));
    s.reservations.set(token, cost);
    s.inFlight += 1;
    s.reserved += cost;
    return { granted: true, token };
  }

  async settle(shopKey: string, token: string, status: ThrottleStatus | undefined, now: number): Promise<void> {
    const s = this.state(shopKey);
    const cost = s.reservations.get(token);
    if (cost !== undefined) {
      s.reservations.delete(token);
      s.inFlight -= 1;
      s.reserved -= cost;
    }
    if (status !== undefined) s.model = { ...status, currentlyAvailable: settledAvailable(s.model, status.currentlyAvailable, now), observedAt: now };
  }

  async peek(shopKey: string): Promise<BucketModel | undefined> {
    const m = this.shops.get(shopKey)?.model;
    return m === undefined ? undefined : { ...m };
  }
}

/**
 * What the bucket holds after a response reported `reported`. Responses can settle out of order (two calls in
 * flight, or two processes): an older response's figure does not include the cost of a call Shopify handled after
 * it, so it must not raise what a newer response already taught. Taking the lower of the report and the stored
 * model's projection keeps the newest knowledge: in order, the report is the lower (it includes this call's cost).
 */
export function settledAvailable(model: BucketModel | undefined, reported: number, now: number): number {
  return model === undefined ? reported : Math.min(reported, projectAvailable(model, now));
}

/** The bucket refills at restoreRate per second up to its maximum. */
export function projectAvailable(model: BucketModel, now: number): number {
  const elapsedSeconds = Math.max(0, now - model.observedAt) / 1000;
  return Math.min(model.maximumAvailable, model.currentlyAvailable + model.restoreRate * elapsedSeconds);
}

/**
 * The pacer of one shop: a call waits here until the bucket, as Shopify last reported it and refilled since,
 * holds its estimated cost net of what calls still in flight have reserved. Sending only what the bucket
 * holds keeps THROTTLED responses rare while several calls stay in flight.
 */
export class ShopBudget {
  constructor(
    readonly shopKey: string,
    private readonly store: BudgetStore = new InMemoryBudgetStore(),
    private readonly clock: () => number = Date.now,
  ) {}

  /** Resolves with the reservation's token once the bucket can take `cost`. */
  async acquire(cost: number, signal?: AbortSignal): Promise<string> {
    for (;;) {
      signal?.throwIfAborted();
      const outcome = await this.store.tryReserve(this.shopKey, cost, this.clock());
      if (outcome.granted) return outcome.token;
      await sleep(outcome.waitMs, signal);
    }
  }

  settle(token: string, status: ThrottleStatus | undefined): Promise<void> {
    return this.store.settle(this.shopKey, token, status, this.clock());
  }

  model(): Promise<BucketModel | undefined> {
    return this.store.peek(this.shopKey);
  }
}

const processBudgets = new Map<string, ShopBudget>();

/** The process-wide budget of a shop at an API origin, shared by every client created without one. */
export function sharedShopBudget(shopKey: string): ShopBudget {
  let budget = processBudgets.get(shopKey);
  if (budget === undefined) {
    budget = new ShopBudget(shopKey);
    processBudgets.set(shopKey, budget);
  }
  return budget;
}

/** Waits `ms`; an abort ends the wait at once, rejecting with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
