import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RefreshInput, RefreshSummary } from '../activities/refresh.js';
import { defaultActivityOptions } from './retry-policy.js';

const { refreshKeys } = proxyActivities<Activities>(defaultActivityOptions);

/** Computes and pushes ATS for a batch of keys of one shop. */
export async function refreshWorkflow(input: RefreshInput): Promise<RefreshSummary> {
  return refreshKeys(input);
}
