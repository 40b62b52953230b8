import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PruneResult } from '../activities/housekeeping.js';

// Deleting a large backlog the first time can take minutes; each batch heartbeats.
const { pruneExpiredRows, alertOrdersNeverArrived } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

// A WMS confirmation of an order we have not seen starts no workflow (src/db/early-confirmations.ts), so the alert
// its expiry timer raised when the order never came is raised here. Runs recorded before it replay without it.
const ORDERS_NEVER_ARRIVED = 'housekeeping-orders-never-arrived';

/**
 * The `housekeeping` Schedule's run: orders a WMS confirmed that never came alerted, and rows past their retention
 * deleted (docs/operations.md, "Retention").
 */
export async function housekeepingWorkflow(): Promise<PruneResult> {
  if (patched(ORDERS_NEVER_ARRIVED)) await alertOrdersNeverArrived();
  return pruneExpiredRows();
}
