import type { OrderHandoff } from '../temporal/handoff.js';
import type { Db } from './pool.js';

/**
 * The durable ledger of Shopify deliveries (webhook_deliveries), used as an outbox. A delivery is recorded
 * 'pending' with its stripped hand-off, answered, handed to Temporal, and marked 'signalled'. A repeat of a
 * repeat is answered as a duplicate either way: only the request that recorded a delivery hands it off, and
 * the sweeper takes over any row left pending.
 */
export interface DeliveryMeta {
  webhookId: string;
  shopDomain: string;
  topic: string;
  eventId: string | null;
  triggeredAt: string | null;
  subjectId: string | null;
  /** SHA-256 of the raw body: a signed body sent again under a new webhook id is the same delivery. */
  bodyDigest: Buffer;
}

export type RecordOutcome = { kind: 'new' } | { kind: 'duplicate' } | { kind: 'pending' };

export async function recordDelivery(db: Db, d: DeliveryMeta, outcome: 'pending' | 'unrouted', handoff: OrderHandoff | null): Promise<RecordOutcome> {
  // No conflict target: a repeat of the webhook id, or of the (shop, topic, body), is the same delivery.
  const inserted = await db.query(
    `INSERT INTO webhook_deliveries (webhook_id, shop_domain, topic, event_id, triggered_at, subject_id, outcome, handoff, body_digest)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
    [d.webhookId, d.shopDomain, d.topic, d.eventId, d.triggeredAt, d.subjectId, outcome, handoff === null ? null : JSON.stringify(handoff), d.bodyDigest],
  );
  if (inserted.rowCount === 1) return { kind: 'new' };
  const { rows } = await db.query<{ outcome: string }>(
    `SELECT outcome FROM webhook_deliveries WHERE webhook_id = $1
     UNION ALL
     SELECT outcome FROM webhook_deliveries WHERE shop_domain = $2 AND topic = $3 AND body_digest = $4
     LIMIT 1`,
    [d.webhookId, d.shopDomain, d.topic, d.bodyDigest],
  );
  return rows[0]?.outcome === 'pending' ? { kind: 'pending' } : { kind: 'duplicate' };
}

export async function markSignalled(db: Db, webhookId: string): Promise<void> {
  await db.query(`UPDATE webhook_deliveries SET outcome = 'signalled' WHERE webhook_id = $1`, [webhookId]);
}

/** Deliveries of these shops still pending after `minAgeMs`, oldest first, with their stored hand-offs. */
export async function pendingDeliveries(db: Db, opts: { limit: number; minAgeMs: number; shopDomains: string[] }): Promise<{ webhook_id: string; handoff: OrderHandoff | null }[]> {
  const { rows } = await db.query<{ webhook_id: string; handoff: OrderHandoff | null }>(
    `SELECT webhook_id, handoff FROM webhook_deliveries
      WHERE outcome = 'pending' AND handoff IS NOT NULL AND shop_domain = ANY($3::text[])
        AND received_at <= now() - make_interval(secs => $2::double precision / 1000)
      ORDER BY received_at LIMIT $1`,
    [opts.limit, opts.minAgeMs, opts.shopDomains],
  );
  return rows;
}
