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
  /** Runs that read Shopify through one bulk export: lines of its file done, of how many. */
  linesDone?: number;
  linesTotal?: number;
  /** Export lines that did not parse (skipped, named in reconciliation_problems). */
  badLines?: number;
  /** Mappings whose inventory item Shopify no longer lists (reported, not written). */
  missing?: number;
  done: boolean;
}

export interface ReconcileInput {
  shopId: string;
  /** Carried over continue-as-new. */
  resume?: { progress: ReconcileProgress; after: MappingCursor; mode?: 'export' };
}

export const reconcileProgressQuery = defineQuery<ReconcileProgress>('progress');

const { startReconciliation, reconcilePage, startMissingReservations, finishReconciliation } = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '5 minutes' });
/**
 * Runs started after the patch `reconcile-short-steps`: the report's bookkeeping (one row each) times out after
 * 30 s rather than 5 minutes, so an attempt lost with a killed worker is retried at once; the missed-order step
 * heartbeats, so a killed worker's attempt is retried after 20 s and resumes from its last heartbeat.
 */
const shortSteps = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '30 seconds' });
const missedOrders = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '10 minutes', heartbeatTimeout: '20 seconds' });
/**
 * A slice of the export: its first call waits for Shopify's bulk operation, then each takes ~5 s of the file.
 * It heartbeats every chunk: a worker killed mid-slice is noticed after 20 s and the slice resumes at its last
 * checkpoint on another worker.
 */
const { reconcileExportSlice } = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '30 minutes', heartbeatTimeout: '20 seconds' });

/**
 * Nightly (reconciliation.schedule) for one shop: every mapped key's Shopify quantity against ATS, drift corrected
 * through the guarded write, alerts over the threshold, a report in reconciliation_runs/rows. Progress by query.
 */
export async function reconcileWorkflow(input: ReconcileInput): Promise<ReconcileProgress> {
  upsertSearchAttributes([{ key: ShopIdKey, value: input.shopId }]);
  const progress: ReconcileProgress = input.resume?.progress ?? { shopId: input.shopId, runId: null, pages: 0, checked: 0, drifted: 0, corrected: 0, alerted: 0, ordersStarted: 0, done: false };
  setHandler(reconcileProgressQuery, () => progress);
  const short = patched('reconcile-short-steps');
  const start = short ? shortSteps.startReconciliation : startReconciliation;
  const finish = short ? shortSteps.finishReconciliation : finishReconciliation;
  const runId = progress.runId ?? (await start({ shopId: input.shopId, workflowId: workflowInfo().workflowId }));
  progress.runId = runId;
  let after = input.resume?.after ?? null;
  try {
    // Orders whose webhooks were lost first: their claims must be in ATS before drift is judged.
    if (!input.resume && patched('reconcile-missing-orders')) {
      progress.ordersStarted = (await (short ? missedOrders.startMissingReservations : startMissingReservations)({ runId, shopId: input.shopId })).started;
    }
    // Runs started before this patch page through the mappings, reading Shopify 250 pairs at a time; runs started
    // after it read one bulk export (and a run continued as new keeps the mode it started with).
    const byExport = input.resume ? input.resume.mode === 'export' : patched('reconcile-bulk-export');
    if (byExport) {
      for (;;) {
        const slice = await reconcileExportSlice({ runId, shopId: input.shopId });
        // A slice answers with the run's totals: chunks an attempt committed before its worker died count too.
        progress.pages++;
        progress.checked = slice.checked;
        progress.drifted = slice.drifted;
        progress.corrected = slice.corrected;
        progress.alerted = slice.alerted;
        progress.badLines = slice.badLines;
        progress.missing = slice.missing;
        progress.linesDone = slice.linesDone;
        progress.linesTotal = slice.linesTotal;
        if (slice.done) break;
        if (workflowInfo().continueAsNewSuggested) {
          await continueAsNew<typeof reconcileWorkflow>({ shopId: input.shopId, resume: { progress, after: null, mode: 'export' } });
        }
      }
    } else {
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
    }
  } catch (err) {
    // Continuing as new is not a failure: the next run carries the progress and finishes the same report.
    // (Runs recorded before this patch marked the report failed at every continue-as-new.)
    if (err instanceof ContinueAsNew && patched('reconcile-continue-is-not-failure')) throw err;
    await finish({ runId, status: 'failed' });
    throw err;
  }
  await finish({ runId, status: 'completed' });
  progress.done = true;
  return progress;
}
