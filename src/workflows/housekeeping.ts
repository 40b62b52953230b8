import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PruneResult } from '../activities/housekeeping.js';

// Deleting a large backlog the first time can take minutes; each batch heartbeats.
const { pruneExpiredRows } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

/** The `housekeeping` Schedule's run: rows past their retention deleted (docs/operations.md, "Retention"). */
export async function housekeepingWorkflow(): Promise<PruneResult> {
  return pruneExpiredRows();
}
