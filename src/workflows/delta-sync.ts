import { continueAsNew, defineQuery, patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SyncBatchInput } from '../activities/delta-sync.js';
import { SourceKey } from '../temporal/search-attributes.js';
import { defaultActivityOptions } from './retry-policy.js';

export interface DeltaSyncProgress {
  source: string;
  mode: 'delta' | 'full';
  batches: number;
  read: number;
  keysMarked: number;
  /** Rows audited and skipped (unknown shop, a shop the source is not bound to, an overlong id). */
  rejected?: number;
  cursor: string | null;
}

export const syncProgressQuery = defineQuery<DeltaSyncProgress>('progress');

const { syncBatch } = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '5 minutes' });
/** Runs started after patch delta-sync-heartbeat: a batch lost with a killed worker is retried after 20 s. */
const heartbeating = proxyActivities<Activities>({ ...defaultActivityOptions, startToCloseTimeout: '5 minutes', heartbeatTimeout: '20 seconds' });

/**
 * One source's sync run, started by its Temporal Schedule (or `inventory-sync sync`). Reads batch after batch
 * until the source has nothing newer; the watermark lives in PostgreSQL and moves after each batch, so a crash
 * resumes from the last batch handed on. Long runs continue-as-new with their counters.
 */
export async function deltaSyncWorkflow(input: SyncBatchInput & { carried?: Omit<DeltaSyncProgress, 'source' | 'mode'> }): Promise<DeltaSyncProgress> {
  upsertSearchAttributes([{ key: SourceKey, value: input.source }]);
  const progress: DeltaSyncProgress = { source: input.source, mode: input.mode, batches: 0, read: 0, keysMarked: 0, cursor: null, ...input.carried };
  setHandler(syncProgressQuery, () => progress);
  const batchOf = patched('delta-sync-heartbeat') ? heartbeating.syncBatch : syncBatch;
  for (;;) {
    // `force` is only present when asked for, so the activity input of every other run is what it always was.
    const batch = await batchOf({ source: input.source, mode: input.mode, ...(input.force ? { force: true } : {}) });
    progress.batches++;
    progress.read += batch.read;
    progress.keysMarked += batch.keysMarked;
    if (batch.rejected) progress.rejected = (progress.rejected ?? 0) + batch.rejected;
    progress.cursor = batch.cursor;
    if (batch.done) return progress;
    if (workflowInfo().continueAsNewSuggested) {
      const { source: _s, mode: _m, ...carried } = progress;
      await continueAsNew<typeof deltaSyncWorkflow>({ source: input.source, mode: input.mode, ...(input.force ? { force: true } : {}), carried });
    }
  }
}
