import type { Db } from '../db/pool.js';
import { Errors } from '../domain/errors.js';
import type { AlertRecord } from './format.js';
import type { AlertEndpoint } from './endpoints.js';

/** A claimed delivery: the alert and how many times (this one included) it was sent to the endpoint. */
export interface ClaimedDelivery {
  endpoint: string;
  attempts: number;
  alert: AlertRecord;
}

interface AlertRow {
  id: string;
  kind: string;
  shop_id: string | null;
  subject: string;
  at: Date;
  details: Record<string, unknown>;
}

const toRecord = (r: AlertRow): AlertRecord => ({ id: r.id, kind: r.kind, shopId: r.shop_id, subject: r.subject, at: r.at.toISOString(), details: r.details });

/** Every alert raised within the window gets one outbox row per endpoint that takes its kind (idempotent). */
export async function enqueueAlerts(db: Db, endpoints: AlertEndpoint[], withinHours: number): Promise<number> {
  let queued = 0;
  for (const e of endpoints) {
    const { rowCount } = await db.query(
      `INSERT INTO alert_deliveries (alert_id, endpoint)
       SELECT a.id, $1 FROM alerts a
        WHERE a.at >= now() - make_interval(secs => $2::double precision * 3600)
          AND ($3::text[] IS NULL OR a.kind = ANY($3::text[]))
          AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.endpoint = $1)
       ON CONFLICT DO NOTHING`,
      [e.name, withinHours, e.kinds ?? null],
    );
    queued += rowCount ?? 0;
  }
  return queued;
}

/** Claims due deliveries ('pending' -> 'sending') so no other dispatcher sends them; counts the attempt. */
export async function claimDueDeliveries(db: Db, endpoints: string[], limit: number): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<AlertRow & { endpoint: string; attempts: number }>(
    `WITH due AS (
       SELECT alert_id, endpoint FROM alert_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now() AND endpoint = ANY($1::text[])
        ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ), claimed AS (
       UPDATE alert_deliveries d SET status = 'sending', attempts = d.attempts + 1, sending_since = now()
         FROM due WHERE d.alert_id = due.alert_id AND d.endpoint = due.endpoint
       RETURNING d.alert_id, d.endpoint, d.attempts
     )
     SELECT a.id::text AS id, a.kind, a.shop_id, a.subject, a.at, a.details, c.endpoint, c.attempts
       FROM claimed c JOIN alerts a ON a.id = c.alert_id ORDER BY a.id`,
    [endpoints, limit],
  );
  return rows.map((r) => ({ endpoint: r.endpoint, attempts: r.attempts, alert: toRecord(r) }));
}

export type DeliveryOutcome =
  | { status: 'delivered' }
  | { status: 'pending'; retryInMs: number; error: string }
  | { status: 'failed' | 'unknown'; error: string };

export async function settleDelivery(db: Db, alertId: string, endpoint: string, outcome: DeliveryOutcome): Promise<void> {
  await db.query(
    `UPDATE alert_deliveries SET status = $3, sending_since = NULL,
            delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END,
            next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $4::double precision / 1000) ELSE next_attempt_at END,
            last_error = $5
      WHERE alert_id = $1 AND endpoint = $2 AND status = 'sending'`,
    [alertId, endpoint, outcome.status, outcome.status === 'pending' ? outcome.retryInMs : 0, outcome.status === 'delivered' ? null : outcome.error],
  );
}

/** A delivery left 'sending' longer than any request may take: its process stopped mid-send. Never resent. */
export async function abandonStaleSends(db: Db, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE alert_deliveries SET status = 'unknown', sending_since = NULL, last_error = 'the sender stopped before the answer came; not sent again'
      WHERE status = 'sending' AND sending_since < now() - make_interval(secs => $1::double precision / 1000)`,
    [olderThanMs],
  );
  return rowCount ?? 0;
}

export async function pendingDeliveries(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM alert_deliveries WHERE status = 'pending'`);
  return Number(rows[0]?.n ?? 0);
}

export interface ListedAlert extends AlertRecord {
  deliveries: { endpoint: string; status: string; attempts: number; deliveredAt: string | null; lastError: string | null }[];
}

/** `inventory-sync alerts list`: newest first, with each endpoint's delivery state. */
export async function listAlerts(db: Db, opts: { shopId?: string; since?: Date; limit?: number } = {}): Promise<ListedAlert[]> {
  const { rows } = await db.query<AlertRow & { deliveries: ListedAlert['deliveries'] }>(
    `SELECT a.id::text AS id, a.kind, a.shop_id, a.subject, a.at, a.details,
            COALESCE((SELECT json_agg(json_build_object('endpoint', d.endpoint, 'status', d.status, 'attempts', d.attempts,
                                                        'deliveredAt', d.delivered_at, 'lastError', d.last_error) ORDER BY d.endpoint)
                        FROM alert_deliveries d WHERE d.alert_id = a.id), '[]'::json) AS deliveries
       FROM alerts a
      WHERE ($1::text IS NULL OR a.shop_id = $1) AND ($2::timestamptz IS NULL OR a.at >= $2)
      ORDER BY a.at DESC, a.id DESC LIMIT $3`,
    [opts.shopId ?? null, opts.since ?? null, opts.limit ?? 1000],
  );
  return rows.map((r) => ({ ...toRecord(r), deliveries: r.deliveries }));
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `--since`: an ISO time, or a duration back from now such as 90s, 15m, 2h, 7d. */
export function parseSince(value: string, now = Date.now()): Date {
  const duration = /^(\d+)([smhd])$/.exec(value.trim());
  if (duration) return new Date(now - Number(duration[1]) * UNIT_SECONDS[duration[2]!]! * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = new Date(value);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw Errors.ArgumentInvalid(`--since: expected a time such as 2026-11-30T12:00:00Z or a duration such as 15m, 2h, 7d; got "${value}"`);
}
