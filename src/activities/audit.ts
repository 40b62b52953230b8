import type { Db } from '../db/pool.js';
import type { AtsComponents } from '../domain/ats.js';

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

/** Appends audit rows in one statement. */
export async function writeAudit(db: Db, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO audit_log (shop_id, sku, location_id, trigger, outcome, components, ats, previous_shopify, delta, version, idempotency_key, error_code, detail)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::int[], $8::int[], $9::int[], $10::bigint[], $11::text[], $12::text[], $13::text[])`,
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
}
