import type { Db } from '../../db/pool.js';
import type { HttpDeps } from './deps.js';
import { handOff, type OrderHandoff } from './order-handoff.js';

/**
 * The durable ledger of Shopify deliveries (webhook_deliveries). A delivery is recorded 'pending' with its
 * stripped hand-off before Temporal is called, and marked 'signalled' after. A repeat of a signalled delivery is
 * a duplicate; a repeat of a pending one (Temporal was down, we answered 503) is handed off again.
 */
export interface DeliveryMeta {
  webhookId: string;
  shopDomain: string;
  topic: string;
  eventId: string | null;
  triggeredAt: string | null;
  subjectId: string | null;
}

export type RecordOutcome = { kind: 'new' } | { kind: 'duplicate' } | { kind: 'pending'; handoff: OrderHandoff | null };

export async function recordDelivery(db: Db, d: DeliveryMeta, outcome: 'pending' | 'unrouted', handoff: OrderHandoff | null): Promise<RecordOutcome> {
  const inserted = await db.query(
    `INSERT INTO webhook_deliveries (webhook_id, shop_domain, topic, event_id, triggered_at, subject_id, outcome, handoff)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (webhook_id) DO NOTHING`,
    [d.webhookId, d.shopDomain, d.topic, d.eventId, d.triggeredAt, d.subjectId, outcome, handoff === null ? null : JSON.stringify(handoff)],
  );
  if (inserted.rowCount === 1) return { kind: 'new' };
  const { rows } = await db.query<{ outcome: string; handoff: OrderHandoff | null }>('SELECT outcome, handoff FROM webhook_deliveries WHERE webhook_id = $1', [d.webhookId]);
  const row = rows[0];
  if (row?.outcome === 'pending') return { kind: 'pending', handoff: row.handoff };
  return { kind: 'duplicate' };
}

export async function markSignalled(db: Db, webhookId: string): Promise<void> {
  await db.query(`UPDATE webhook_deliveries SET outcome = 'signalled' WHERE webhook_id = $1`, [webhookId]);
}

/** Hands off every delivery still pending (after an outage); returns how many reached Temporal. */
export async function redrivePendingDeliveries(deps: Pick<HttpDeps, 'db' | 'temporal' | 'taskQueue' | 'config'>, limit = 500): Promise<number> {
  const { rows } = await deps.db.query<{ webhook_id: string; handoff: OrderHandoff | null }>(
    `SELECT webhook_id, handoff FROM webhook_deliveries WHERE outcome = 'pending' AND handoff IS NOT NULL ORDER BY received_at LIMIT $1`,
    [limit],
  );
  let done = 0;
  for (const r of rows) {
    await handOff(deps, r.handoff!);
    await markSignalled(deps.db, r.webhook_id);
    done++;
  }
  return done;
}
