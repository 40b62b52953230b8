import { log } from '@temporalio/activity';
import type { Db } from '../db/pool.js';
import type { AlertKind } from '../domain/alert-kinds.js';
import { reservationsExpired } from '../observability/worker-metrics.js';

export interface AlertInput {
  kind: AlertKind;
  shopId: string;
  subject: string;
  details?: Record<string, unknown>;
}

/**
 * One row in `alerts`, at most once per (kind, shop, subject): a retried activity, or two raising it at the same
 * moment, store one row (a unique index on `dedupe_key`). True when this call stored it.
 */
export async function raiseAlert(db: Pick<Db, 'query'>, a: AlertInput): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO alerts (kind, shop_id, subject, details, dedupe_key)
     SELECT $1, $2, $3, $4::jsonb, $5
      WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE kind = $1 AND shop_id = $2 AND subject = $3)
     ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
    [a.kind, a.shopId, a.subject, JSON.stringify(a.details ?? {}), JSON.stringify([a.kind, a.shopId, a.subject])],
  );
  return (rowCount ?? 0) > 0;
}

/** raiseAlert, and a warning in the worker's log the first time (ids and counts only, never customer data). */
export async function raiseAndLogAlert(db: Db, a: AlertInput): Promise<boolean> {
  const raised = await raiseAlert(db, a);
  if (raised && a.kind === 'reservation_expired') reservationsExpired.inc({ shop: a.shopId });
  if (raised) log.warn(`alert ${a.kind}`, { shopId: a.shopId, subject: a.subject, ...a.details });
  return raised;
}
