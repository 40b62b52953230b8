import { log } from '@temporalio/activity';
import type { Db } from './pool.js';
import type { AtsComponents } from '../domain/ats.js';
import { Errors } from '../domain/errors.js';
import { raiseAlert } from '../alerts/raise.js';
import { eventToShopifySeconds, writes } from '../observability/worker-metrics.js';

export interface AuditRow {
  shopId: string;
  sku: string;
  locationId: string;
  trigger: string;
  outcome: string;
  components?: AtsComponents;
  ats?: number;
  previousShopify?: number | null;
  delta?: number | null;
  version?: bigint;
  idempotencyKey?: string;
  errorCode?: string;
  detail?: string;
}

/**
 * A write Shopify refused for a reason a retry cannot fix (INVALID_LOCATION, INVALID_QUANTITY_TOO_HIGH, ...): the
 * mapping or the source is wrong, and an operator must hear of it, not only find it in the audit log.
 */
export function isShopifyUserError(row: AuditRow): boolean {
  if (row.outcome !== 'error' || !row.errorCode) return false;
  return row.errorCode === Errors.ShopifyUserError.code || (/^[A-Z][A-Z0-9_]+$/.test(row.errorCode) && !row.errorCode.startsWith('ISYNC_'));
}

/** One `shopify_user_error` alert per key and code (a retry or a later refresh does not alert twice). */
async function alertUserErrors(db: Db, rows: AuditRow[]): Promise<void> {
  for (const r of rows.filter(isShopifyUserError)) {
    const raised = await raiseAlert(db, {
      kind: 'shopify_user_error',
      shopId: r.shopId,
      subject: `${r.errorCode}:${r.sku}@${r.locationId}`,
      details: { code: r.errorCode, sku: r.sku, locationId: r.locationId, ats: r.ats ?? null, trigger: r.trigger, detail: r.detail ?? null },
    });
    if (!raised) continue;
    try {
      log.warn('alert shopify_user_error', { shopId: r.shopId, sku: r.sku, locationId: r.locationId, code: r.errorCode });
    } catch {
      // Not inside an activity: the alert row is what counts.
    }
  }
}

/**
 * Appends audit rows in one statement, and counts them (isync_writes_total). The same statement tells an applied
 * write that Shopify replayed (its idempotency key was sent before by an attempt that failed or was abandoned)
 * and, for writes a source change triggered, how long ago the key's latest source change was recorded. A Shopify
 * user error among the rows also raises an alert.
 */
export async function writeAudit(db: Db, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  const { rows: written } = await db.query<{ shop_id: string; outcome: string; n: number; latencies: number[] | null }>(
    `WITH ins AS (
       INSERT INTO audit_log (shop_id, sku, location_id, trigger, outcome, components, ats, previous_shopify, delta, version, idempotency_key, error_code, detail)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::int[], $8::int[], $9::int[], $10::bigint[], $11::text[], $12::text[], $13::text[])
       RETURNING shop_id, sku, location_id, trigger, outcome, idempotency_key
     ), judged AS (
       SELECT i.shop_id,
              CASE WHEN i.outcome = 'applied' AND EXISTS (
                     SELECT 1 FROM audit_log e WHERE e.idempotency_key = i.idempotency_key AND e.outcome IN ('error', 'abandoned'))
                   THEN 'replayed' ELSE i.outcome END AS outcome,
              CASE WHEN i.outcome = 'applied' AND i.trigger ~ '(^|,)(source_event|delta_sync|full_sync)' THEN (
                SELECT extract(epoch FROM clock_timestamp() - max(s.updated_at))::float8 FROM source_snapshots s
                 WHERE s.shop_id = i.shop_id AND s.sku = i.sku AND s.location_id = i.location_id) END AS latency
         FROM ins i
     )
     SELECT shop_id, outcome, count(*)::int AS n, array_agg(latency) FILTER (WHERE latency IS NOT NULL) AS latencies
       FROM judged GROUP BY shop_id, outcome`,
    [
      rows.map((r) => r.shopId),
      rows.map((r) => r.sku),
      rows.map((r) => r.locationId),
      rows.map((r) => r.trigger),
      rows.map((r) => r.outcome),
      rows.map((r) => (r.components ? JSON.stringify(r.components) : null)),
      rows.map((r) => r.ats ?? null),
      rows.map((r) => r.previousShopify ?? null),
      rows.map((r) => r.delta ?? null),
      rows.map((r) => (r.version === undefined ? null : r.version.toString())),
      rows.map((r) => r.idempotencyKey ?? null),
      rows.map((r) => r.errorCode ?? null),
      rows.map((r) => r.detail ?? null),
    ],
  );
  await alertUserErrors(db, rows);
  for (const w of written) {
    writes.inc({ shop: w.shop_id, outcome: w.outcome }, w.n);
    for (const seconds of w.latencies ?? []) eventToShopifySeconds.observe({ shop: w.shop_id }, Math.max(0, seconds));
  }
}
