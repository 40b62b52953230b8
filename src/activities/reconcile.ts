import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import type { OrderSummary } from '../shopify/client/reads.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { driftUnits, reconcileKeys } from '../observability/worker-metrics.js';
import { readComponents } from '../sources/components.js';
import type { RefreshInput, RefreshSummary, ShopifyInventoryPort } from './refresh.js';
import { correctDrifts, findDrifts } from './reconcile-drift.js';
import {
  addPageTotals,
  finishReconciliationRun,
  insertDriftAlerts,
  mappingsPageAfter,
  openReconciliationRun,
  saveReconciliationRows,
} from '../db/reconciliation.js';

/** Reconciliation's way to see orders whose webhooks may have been lost. */
export interface ShopifyOrdersPort {
  listOpenOrdersUpdatedSince(since: Date): AsyncIterable<OrderSummary>;
  listCancelledOrdersUpdatedSince(since: Date): AsyncIterable<OrderSummary>;
}

export interface ReconcileDeps {
  db: Db;
  config: Config;
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyInventoryPort & ShopifyOrdersPort;
  temporal: Client;
  taskQueue: string;
}

/** Keyset position in a shop's mappings: the last (sku, location) of the previous page. */
export type MappingCursor = [sku: string, locationId: string] | null;

export interface ReconcilePageResult {
  checked: number;
  drifted: number;
  corrected: number;
  alerted: number;
  next: MappingCursor;
}


export function createReconcileActivities(deps: ReconcileDeps & { refreshKeys: (input: RefreshInput) => Promise<RefreshSummary> }) {
  async function startReconciliation(input: { shopId: string; workflowId: string }): Promise<number> {
    // Idempotent on the workflow id: a retried start must not open a second run.
    return openReconciliationRun(deps.db, input.shopId, input.workflowId);
  }

  /**
   * One page of a shop's mapped keys: Shopify's actual `available` read in bulk, compared with ATS; drifted keys
   * are corrected through the same guarded write every refresh uses, and recorded in the run's report.
   */
  async function reconcilePage(input: { runId: number; shopId: string; after: MappingCursor }): Promise<ReconcilePageResult> {
    const { shopId, runId } = input;
    const { reconciliation } = deps.config.inventory_sync;
    const [afterSku, afterLocation] = input.after ?? ['', ''];
    const mappings = await mappingsPageAfter(deps.db, shopId, { sku: afterSku, locationId: afterLocation }, reconciliation.page_size);
    const last = mappings.at(-1);
    const next: MappingCursor = mappings.length === reconciliation.page_size && last ? [last.sku, last.location_id] : null;
    if (mappings.length === 0) return { checked: 0, drifted: 0, corrected: 0, alerted: 0, next };

    const keys = mappings.map((m) => ({ sku: m.sku, locationId: m.location_id }));
    const [levels, components] = await Promise.all([
      deps.shopify(shopId).readLevels(mappings.map((m) => ({ inventoryItemId: m.inventory_item_id, locationId: m.shopify_location_id })), ['available']),
      readComponents(deps, shopId, keys),
    ]);
    const drifts = findDrifts(mappings, components, (m) => levels.get(`${m.inventory_item_id}|${m.shopify_location_id}`)?.available);
    const corrected = await correctDrifts(deps.refreshKeys, shopId, drifts);
    const breaches = reconciliation.alert_on_breach ? drifts.filter((d) => Math.abs(d.drift) >= reconciliation.discrepancy_threshold) : [];
    await saveReconciliationRows(deps.db, runId, drifts, corrected);
    if (breaches.length > 0) await insertDriftAlerts(deps.db, shopId, runId, breaches);
    const result = { checked: mappings.length, drifted: drifts.length, corrected: corrected.size, alerted: breaches.length, next };
    reconcileKeys.inc({ shop: shopId, result: 'checked' }, result.checked);
    reconcileKeys.inc({ shop: shopId, result: 'drifted' }, result.drifted);
    reconcileKeys.inc({ shop: shopId, result: 'corrected' }, result.corrected);
    reconcileKeys.inc({ shop: shopId, result: 'breached' }, result.alerted);
    driftUnits.inc({ shop: shopId }, drifts.reduce((sum, d) => sum + Math.abs(d.drift), 0));
    await addPageTotals(deps.db, runId, result);
    return result;
  }

  async function finishReconciliation(input: { runId: number; status: 'completed' | 'failed' }): Promise<void> {
    await finishReconciliationRun(deps.db, input.runId, input.status);
  }

  return { startReconciliation, reconcilePage, finishReconciliation };
}
