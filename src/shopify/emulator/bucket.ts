import type { PlanLimits } from './plans.js';

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

/** Leaky bucket in cost points: refills continuously at restoreRate per second up to maximumAvailable. */
export class LeakyBucket {
  private available: number;
  private last: number;

  constructor(
    private limits: PlanLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.available = limits.maximumAvailable;
    this.last = now();
  }

  setLimits(limits: PlanLimits): void {
    this.refill();
    this.limits = limits;
    this.available = Math.min(this.available, limits.maximumAvailable);
  }

  private refill(): void {
    const t = this.now();
    const elapsedS = (t - this.last) / 1000;
    this.last = t;
    this.available = Math.min(this.limits.maximumAvailable, this.available + elapsedS * this.limits.restoreRate);
  }

  /** Takes `cost` points if they are there; false (and nothing taken) when the bucket is short. */
  tryTake(cost: number): boolean {
    this.refill();
    if (cost > this.available) return false;
    this.available -= cost;
    return true;
  }

  refund(points: number): void {
    this.refill();
    this.available = Math.min(this.limits.maximumAvailable, this.available + points);
  }

  /** Test hook: put the bucket at an exact level. */
  set(points: number): void {
    this.refill();
    this.available = Math.max(0, Math.min(this.limits.maximumAvailable, points));
  }

  status(): ThrottleStatus {
    this.refill();
    return {
      maximumAvailable: this.limits.maximumAvailable,
      // Shopify reports whole points.
      currentlyAvailable: Math.floor(this.available),
      restoreRate: this.limits.restoreRate,
    };
  }
}
