import type { Db } from '../../db/pool.js';
import type { HttpDeps } from './deps.js';
import { handOff, type OrderHandoff } from './order-handoff.js';

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
}

export type RecordOutcome = { kind: 'new' } | { kind: 'duplicate' } | { kind: 'pending' };

export async function recordDelivery(db: Db, d: DeliveryMeta, outcome: 'pending' | 'unrouted', handoff: OrderHandoff | null): Promise<RecordOutcome> {
  const inserted = await db.query(
    `INSERT INTO webhook_deliveries (webhook_id, shop_domain, topic, event_id, triggered_at, subject_id, outcome, handoff)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (webhook_id) DO NOTHING`,
    [d.webhookId, d.shopDomain, d.topic, d.eventId, d.triggeredAt, d.subjectId, outcome, handoff === null ? null : JSON.stringify(handoff)],
  );
  if (inserted.rowCount === 1) return { kind: 'new' };
  const { rows } = await db.query<{ outcome: string }>('SELECT outcome FROM webhook_deliveries WHERE webhook_id = $1', [d.webhookId]);
  return rows[0]?.outcome === 'pending' ? { kind: 'pending' } : { kind: 'duplicate' };
}

export async function markSignalled(db: Db, webhookId: string): Promise<void> {
  await db.query(`UPDATE webhook_deliveries SET outcome = 'signalled' WHERE webhook_id = $1`, [webhookId]);
}

type HandoffDeps = Pick<HttpDeps, 'db' | 'temporal' | 'taskQueue' | 'config'>;

/** Hands one recorded delivery to Temporal and marks it; on failure it stays pending for the sweeper. */
export async function deliver(deps: HandoffDeps, webhookId: string, handoff: OrderHandoff): Promise<boolean> {
  try {
    await handOff(deps, handoff);
  } catch {
    return false;
  }
  await markSignalled(deps.db, webhookId);
  return true;
}

/** Hands off deliveries still pending after `minAgeMs` (Temporal was down, or the process died after answering). */
export async function redrivePendingDeliveries(deps: HandoffDeps, opts: { limit?: number; minAgeMs?: number } = {}): Promise<number> {
  // Only this configuration's shops: a deployment serving other shops (another config) re-drives its own.
  const { rows } = await deps.db.query<{ webhook_id: string; handoff: OrderHandoff | null }>(
    `SELECT webhook_id, handoff FROM webhook_deliveries
      WHERE outcome = 'pending' AND handoff IS NOT NULL AND shop_domain = ANY($3::text[])
        AND received_at <= now() - make_interval(secs => $2::double precision / 1000)
      ORDER BY received_at LIMIT $1`,
    [opts.limit ?? 500, opts.minAgeMs ?? 0, deps.config.shops.map((s) => s.domain)],
  );
  let done = 0;
  for (const r of rows) {
    if (!(await deliver(deps, r.webhook_id, r.handoff!))) break;
    done++;
  }
  return done;
}

/** Runs redrivePendingDeliveries every `intervalMs` while the server is up; returns the stop function. */
export function startDeliverySweeper(deps: HandoffDeps & Pick<HttpDeps, 'logger'>, intervalMs = 5000, minAgeMs = 5000): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    redrivePendingDeliveries(deps, { minAgeMs })
      .then((n) => n > 0 && deps.logger.info({ handedOff: n }, 'pending webhook deliveries handed off'))
      .catch((err: unknown) => deps.logger.warn({ err }, 'webhook delivery sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
