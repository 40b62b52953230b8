import { ContinueAsNew, continueAsNew, defineQuery, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { MappingCursor } from '../activities/reconcile.js';
import { ShopIdKey } from '../temporal/search-attributes.js';
import { defaultActivityOptions } from './retry-policy.js';

export interface ReconcileProgress {
  shopId: string;
  runId: number | null;
  pages: number;
  checked: number;
  drifted: number;
  corrected: number;
  alerted: number;
  /** Orders found without a reservation (their webhooks were lost) and handed to their workflows. */
  ordersStarted: number;
  done: boolean;
}

export interface ReconcileInput {
  shopId: string;
  /** Carried over continue-as-new. */
  resume?: { progress: ReconcileProgress; after: MappingCursor };
}

export const reconcileProgressQuery = defineQuery<ReconcileProgress>('progress');

const { startReconciliation, reconcilePage, startMissingReservations, finishReconciliation } = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '5 minutes' });

/**
 * Nightly (reconciliation.schedule) for one shop: every mapped key's Shopify quantity against ATS, drift corrected
 * through the guarded write, alerts over the threshold, a report in reconciliation_runs/rows. Progress by query.
 */
export async function reconcileWorkflow(input: ReconcileInput): Promise<ReconcileProgress> {
  upsertSearchAttributes([{ key: ShopIdKey, value: input.shopId }]);
  const progress: ReconcileProgress = input.resume?.progress ?? { shopId: input.shopId, runId: null, pages: 0, checked: 0, drifted: 0, corrected: 0, alerted: 0, ordersStarted: 0, done: false };
  setHandler(reconcileProgressQuery, () => progress);
  const runId = progress.runId ?? (await startReconciliation({ shopId: input.shopId, workflowId: workflowInfo().workflowId }));
  progress.runId = runId;
  let after = input.resume?.after ?? null;
  try {
    // Orders whose webhooks were lost first: their claims must be in ATS before drift is judged.
    if (!input.resume && patched('reconcile-missing-orders')) {
      progress.ordersStarted = (await startMissingReservations({ runId, shopId: input.shopId })).started;
    }
    do {
      const page = await reconcilePage({ runId, shopId: input.shopId, after });
      progress.pages++;
      progress.checked += page.checked;
      progress.drifted += page.drifted;
      progress.corrected += page.corrected;
      progress.alerted += page.alerted;
      after = page.next;
      if (after && workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof reconcileWorkflow>({ shopId: input.shopId, resume: { progress, after } });
      }
    } while (after);
  } catch (err) {
    // Continuing as new is not a failure: the next run carries the progress and finishes the same report.
    // (Runs recorded before this patch marked the report failed at every continue-as-new.)
    if (err instanceof ContinueAsNew && patched('reconcile-continue-is-not-failure')) throw err;
    await finishReconciliation({ runId, status: 'failed' });
    throw err;
  }
  await finishReconciliation({ runId, status: 'completed' });
  progress.done = true;
  return progress;
}
