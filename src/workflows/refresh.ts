import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RefreshInput, RefreshSummary } from '../activities/refresh.js';
import { refreshActivityOptions } from './retry-policy.js';

const { refreshKeys } = proxyActivities<Activities>(refreshActivityOptions);

/** Bounds of each refreshKeys attempt, for a caller that wants a one-off refresh to give up (and retry) sooner. */
export interface RefreshAttemptBounds {
  startToCloseTimeoutMs?: number;
  heartbeatTimeoutMs?: number;
  maximumAttempts?: number;
}

/** Computes and pushes ATS for a batch of keys of one shop. */
export async function refreshWorkflow(input: RefreshInput, bounds?: RefreshAttemptBounds): Promise<RefreshSummary> {
  if (bounds === undefined) return refreshKeys(input);
  const { refreshKeys: bounded } = proxyActivities<Activities>({
    ...refreshActivityOptions,
    ...(bounds.startToCloseTimeoutMs === undefined ? {} : { startToCloseTimeout: bounds.startToCloseTimeoutMs }),
    ...(bounds.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeout: bounds.heartbeatTimeoutMs }),
    retry: { ...refreshActivityOptions.retry, ...(bounds.maximumAttempts === undefined ? {} : { maximumAttempts: bounds.maximumAttempts }) },
  });
  return bounded(input);
}
