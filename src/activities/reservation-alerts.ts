import type { Db } from '../db/pool.js';

export interface AlertInput {
  kind: string;
  shopId: string;
  subject: string;
  details?: Record<string, unknown>;
}

/** One row in `alerts`, at most once per (kind, subject): a retried activity does not alert twice. */
export async function raiseAlert(db: Db, a: AlertInput): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO alerts (kind, shop_id, subject, details)
     SELECT $1, $2, $3, $4::jsonb WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE kind = $1 AND shop_id = $2 AND subject = $3)`,
    [a.kind, a.shopId, a.subject, JSON.stringify(a.details ?? {})],
  );
  return (rowCount ?? 0) > 0;
}
