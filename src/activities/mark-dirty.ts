import { createDirtyBatcher, type MarkDirtyDeps, type MarkDirtyInput } from '../temporal/handoff.js';

/**
 * The markDirty activity goes through one batcher per worker: during a flash sale, the reservations of many
 * orders of one shop finish their claims at once, and their keys reach the shop's refresh workflow as one signal
 * instead of one signal (and one workflow task) per order.
 */
export function createMarkDirtyActivities(deps: MarkDirtyDeps) {
  const batcher = createDirtyBatcher(deps);
  return { markDirty: (input: MarkDirtyInput) => batcher.markDirty(input) };
}
