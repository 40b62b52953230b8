import type { Client } from '@temporalio/client';
import { workflowIds } from '../domain/keys.js';
import type { SkuLocation } from '../domain/sku-location.js';

export interface MarkDirtyDeps {
  temporal: Client;
  taskQueue: string;
}

export interface MarkDirtyInput {
  shopId: string;
  keys: SkuLocation[];
  trigger: string;
}

/** Hands keys to the shop's coalescing refresh workflow, starting it when it is not running. */
export async function markDirty(deps: MarkDirtyDeps, input: MarkDirtyInput): Promise<void> {
  if (input.keys.length === 0) return;
  await deps.temporal.workflow.signalWithStart('shopRefreshWorkflow', {
    workflowId: workflowIds.refresh(input.shopId),
    taskQueue: deps.taskQueue,
    args: [{ shopId: input.shopId, pending: [] }],
    signal: 'keysDirty',
    signalArgs: [{ keys: input.keys, trigger: input.trigger }],
  });
}
