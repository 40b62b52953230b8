import type { Client } from '@temporalio/client';
import type { Config } from '../../config/schema.js';
import { Errors } from '../../domain/errors.js';
import { workflowIds } from '../../domain/keys.js';
import type { DeltaSyncProgress } from '../../workflows/delta-sync.js';
import type { ReconcileProgress } from '../../workflows/reconcile.js';

/** Runs one source's sync now (beside its schedule) and waits for it; the worker does the work. */
export async function syncNow(client: Client, config: Config, taskQueue: string, source: string, full: boolean, force = false): Promise<DeltaSyncProgress> {
  const configured = config.sources.find((s) => s.name === source);
  if (!configured) throw Errors.UnknownSource(`source "${source}" is not in the configuration (known: ${config.sources.map((s) => s.name).join(', ') || 'none'})`);
  return client.workflow.execute('deltaSyncWorkflow', {
    taskQueue,
    workflowId: `${workflowIds.deltaSync(source)}:manual-${Date.now()}`,
    args: [{ source, mode: full ? 'full' : configured.mode, ...(force ? { force: true } : {}) }],
  });
}

/** Reconciles one shop, or every configured shop one after another, and waits for the reports. */
export async function reconcileNow(client: Client, config: Config, taskQueue: string, shopId?: string): Promise<ReconcileProgress[]> {
  const shops = shopId ? config.shops.filter((s) => s.id === shopId) : config.shops;
  if (shopId && shops.length === 0) throw Errors.UnknownShop(`shop "${shopId}" is not in the configuration`);
  const results: ReconcileProgress[] = [];
  for (const shop of shops) {
    results.push(
      await client.workflow.execute('reconcileWorkflow', { taskQueue, workflowId: `${workflowIds.reconcile(shop.id)}:manual-${Date.now()}`, args: [{ shopId: shop.id }] }),
    );
  }
  return results;
}
