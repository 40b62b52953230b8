import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { ORDER_EVENT_SIGNAL, STATUS_QUERY, reservationTtlSeconds, type OrderEvent, type ReservationStatus } from '../domain/reservation-model.js';
import { signalOrder } from '../temporal/handoff.js';
import type { OrderSummary } from '../shopify/client/reads.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { driftUnits, reconcileKeys } from '../observability/worker-metrics.js';
import { readComponents } from '../sources/components.js';
import type { RefreshInput, RefreshSummary, ShopifyInventoryPort } from './refresh.js';
import { correctDrifts, findDrifts } from './reconcile-drift.js';
import { skuLocationKey } from '../domain/sku-location.js';

/** Reconciliation's way to see orders whose webhooks may have been lost. */
export interface ShopifyOrdersPort {
  listOpenOrdersUpdatedSince(since: Date): AsyncIterable<OrderSummary>;
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

/** How long reconciliation waits for the claims of orders it found without a reservation. */
const CLAIM_WAIT_MS = 30_000;


export function createReconcileActivities(deps: ReconcileDeps & { refreshKeys: (input: RefreshInput) => Promise<RefreshSummary> }) {
  async function startReconciliation(input: { shopId: string; workflowId: string }): Promise<number> {
    // Idempotent on the workflow id: a retried start must not open a second run.
    const { rows } = await deps.db.query<{ id: string }>(
      `WITH existing AS (SELECT id FROM reconciliation_runs WHERE workflow_id = $2 AND status = 'running')
       INSERT INTO reconciliation_runs (shop_id, workflow_id) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM existing)
       RETURNING id::text`,
      [input.shopId, input.workflowId],
    );
    if (rows[0]) return Number(rows[0].id);
    const again = await deps.db.query<{ id: string }>(`SELECT id::text FROM reconciliation_runs WHERE workflow_id = $1 AND status = 'running'`, [input.workflowId]);
    return Number(again.rows[0]!.id);
  }

  /**
   * One page of a shop's mapped keys: Shopify's actual `available` read in bulk, compared with ATS; drifted keys
   * are corrected through the same guarded write every refresh uses, and recorded in the run's report.
   */
  async function reconcilePage(input: { runId: number; shopId: string; after: MappingCursor }): Promise<ReconcilePageResult> {
    const { shopId, runId } = input;
    const { reconciliation } = deps.config.inventory_sync;
    const [afterSku, afterLocation] = input.after ?? ['', ''];
    const { rows: mappings } = await deps.db.query<{ sku: string; location_id: string; inventory_item_id: string; shopify_location_id: string }>(
      `SELECT sku, location_id, inventory_item_id, shopify_location_id FROM mappings
        WHERE shop_id = $1 AND (sku, location_id) > ($2, $3) ORDER BY sku, location_id LIMIT $4`,
      [shopId, afterSku, afterLocation, reconciliation.page_size],
    );
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
    await deps.db.query(
      `INSERT INTO reconciliation_rows (run_id, sku, location_id, shopify_qty, ats, drift, corrected)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::bool[])
       ON CONFLICT (run_id, sku, location_id) DO UPDATE SET shopify_qty = EXCLUDED.shopify_qty, ats = EXCLUDED.ats, drift = EXCLUDED.drift, corrected = EXCLUDED.corrected`,
      [runId, drifts.map((d) => d.sku), drifts.map((d) => d.locationId), drifts.map((d) => d.shopifyQty), drifts.map((d) => d.ats), drifts.map((d) => d.drift), drifts.map((d) => corrected.has(skuLocationKey(d)))],
    );
    if (breaches.length > 0) {
      await deps.db.query(
        `INSERT INTO alerts (kind, shop_id, subject, details)
         SELECT 'drift', $1, s, jsonb_build_object('runId', $2::bigint, 'shopify', q, 'ats', a, 'drift', d)
           FROM unnest($3::text[], $4::int[], $5::int[], $6::int[]) AS t(s, q, a, d)`,
        [shopId, runId, breaches.map((d) => skuLocationKey(d)), breaches.map((d) => d.shopifyQty), breaches.map((d) => d.ats), breaches.map((d) => d.drift)],
      );
    }
    const result = { checked: mappings.length, drifted: drifts.length, corrected: corrected.size, alerted: breaches.length, next };
    reconcileKeys.inc({ shop: shopId, result: 'checked' }, result.checked);
    reconcileKeys.inc({ shop: shopId, result: 'drifted' }, result.drifted);
    reconcileKeys.inc({ shop: shopId, result: 'corrected' }, result.corrected);
    reconcileKeys.inc({ shop: shopId, result: 'breached' }, result.alerted);
    driftUnits.inc({ shop: shopId }, drifts.reduce((sum, d) => sum + Math.abs(d.drift), 0));
    await deps.db.query(
      `UPDATE reconciliation_runs SET keys_checked = keys_checked + $2, drifted = drifted + $3, corrected = corrected + $4 WHERE id = $1`,
      [runId, result.checked, result.drifted, result.corrected],
    );
    return result;
  }

  /**
   * Shopify does not guarantee webhooks. Open, unfulfilled orders updated within the reservation TTL that have no
   * reservation are handed to their workflow as if their orders/create had arrived (signal-with-start: a
   * webhook arriving at the same moment lands in the same workflow, whose claims are idempotent).
   */
  async function startMissingReservations(input: { runId: number; shopId: string }): Promise<{ started: number }> {
    const settings = deps.config.inventory_sync.reservations;
    const since = new Date(Date.now() - reservationTtlSeconds(settings) * 1000);
    const numericId = (id: string) => id.replace(/^gid:\/\/shopify\/[A-Za-z]+\//, '');
    let started = 0;
    const startedIds: string[] = [];
    const handOn = async (orders: OrderSummary[]) => {
      const ids = orders.map((o) => numericId(o.orderId));
      const { rows } = await deps.db.query<{ order_id: string }>('SELECT order_id FROM reservations WHERE shop_id = $1 AND order_id = ANY($2)', [input.shopId, ids]);
      const known = new Set(rows.map((r) => r.order_id));
      for (const order of orders) {
        const orderId = numericId(order.orderId);
        const lines = order.lines.filter((l) => l.quantity > 0);
        if (known.has(orderId) || lines.length === 0) continue;
        const event: OrderEvent = {
          kind: 'created',
          origin: 'shopify',
          at: order.updatedAt,
          deliveryId: `reconciliation:${input.runId}`,
          lines: lines.map((l) => ({ lineId: numericId(l.lineItemId), variantId: l.variantId ? numericId(l.variantId) : null, sku: l.sku, quantity: l.quantity })),
        };
        startedIds.push(await signalOrder(deps, { shopId: input.shopId, orderId, signal: ORDER_EVENT_SIGNAL, payload: event }));
        started++;
      }
    };
    let page: OrderSummary[] = [];
    for await (const order of deps.shopify(input.shopId).listOpenOrdersUpdatedSince(since)) {
      page.push(order);
      if (page.length === 100) {
        await handOn(page);
        page = [];
      }
    }
    await handOn(page);
    // Drift is judged against ATS right after this: wait (bounded) until the new claims are in, or the page would
    // "correct" Shopify back up by the very units these orders hold.
    const deadline = Date.now() + CLAIM_WAIT_MS;
    for (const id of startedIds) {
      const handle = deps.temporal.workflow.getHandle(id);
      while (Date.now() < deadline && (await handle.query<ReservationStatus>(STATUS_QUERY)).state === 'pending') {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (started > 0) {
      await deps.db.query('UPDATE reconciliation_runs SET orders_started = orders_started + $2 WHERE id = $1', [input.runId, started]);
      await deps.db.query(`INSERT INTO alerts (kind, shop_id, subject, details) VALUES ('missed_webhooks', $1, $2, $3)`, [
        input.shopId,
        `${started} order(s) without a reservation`,
        { runId: input.runId, started },
      ]);
    }
    return { started };
  }

  async function finishReconciliation(input: { runId: number; status: 'completed' | 'failed' }): Promise<void> {
    await deps.db.query(`UPDATE reconciliation_runs SET status = $2, finished_at = now() WHERE id = $1`, [input.runId, input.status]);
  }

  return { startReconciliation, reconcilePage, startMissingReservations, finishReconciliation };
}
