import { condition, continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler, workflowInfo, allHandlersFinished } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SkuLocation } from '../sources/adapter.js';
import { defaultActivityOptions } from './retry-policy.js';

export interface DirtyKeys {
  keys: SkuLocation[];
  trigger: string;
}

export interface ShopRefreshState {
  shopId: string;
  /** Keys waiting for the next flush, by `sku|location`, with the triggers that dirtied them. */
  pending: [string, { key: SkuLocation; triggers: string[] }][];
}

export const keysDirtySignal = defineSignal<[DirtyKeys]>('keysDirty');
export const pendingQuery = defineQuery<number>('pending');

/** One Shopify call takes at most 250 quantities. */
export const FLUSH_BATCH = 250;

const { refreshKeys } = proxyActivities<Activities>(defaultActivityOptions);

/**
 * One long-running workflow per shop that coalesces dirty keys from events, claims, syncs and reconciliation:
 * a burst of signals for the same keys costs one computation and one write per key per flush.
 */
export async function shopRefreshWorkflow(state: ShopRefreshState): Promise<void> {
  const pending = new Map(state.pending);
  setHandler(keysDirtySignal, ({ keys, trigger }) => {
    for (const key of keys) {
      const id = `${key.sku}|${key.locationId}`;
      const entry = pending.get(id);
      if (entry) {
        if (!entry.triggers.includes(trigger)) entry.triggers.push(trigger);
      } else pending.set(id, { key, triggers: [trigger] });
    }
  });
  setHandler(pendingQuery, () => pending.size);

  for (;;) {
    await condition(() => pending.size > 0 || workflowInfo().continueAsNewSuggested);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof shopRefreshWorkflow>({ shopId: state.shopId, pending: [...pending] });
    }
    const batch = [...pending.entries()].slice(0, FLUSH_BATCH);
    for (const [id] of batch) pending.delete(id);
    const triggers = [...new Set(batch.flatMap(([, e]) => e.triggers))].sort();
    await refreshKeys({ shopId: state.shopId, keys: batch.map(([, e]) => e.key), trigger: triggers.join(',') });
  }
}
