import { markDirty, type MarkDirtyDeps, type MarkDirtyInput } from './mark-dirty.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';

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
        for (const w of waiters) byTrigger.set(w.trigger, [...(byTrigger.get(w.trigger) ?? []), w]);
        await Promise.all(
          [...byTrigger].map(async ([trigger, group]) => {
            const keys = new Map(group.flatMap((w) => w.keys.map((k) => [skuLocationKey(k), k] as const)));
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

export type DirtyBatcher = ReturnType<typeof createDirtyBatcher>;

/**
 * The markDirty activity goes through one batcher per worker: during a flash sale, the reservations of many
 * orders of one shop finish their claims at once, and their keys reach the shop's refresh workflow as one signal
 * instead of one signal (and one workflow task) per order.
 */
export function createMarkDirtyActivities(deps: MarkDirtyDeps) {
  const batcher = createDirtyBatcher(deps);
  return { markDirty: (input: MarkDirtyInput) => batcher.markDirty(input) };
}
