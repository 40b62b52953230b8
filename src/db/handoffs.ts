import { ALLOCATION_SIGNAL, claimLineId, type AllocationEvent } from '../domain/reservation-model.js';
import type { SkuLocation } from '../domain/sku-location.js';
import type { OrderHandoff } from '../temporal/handoff.js';
import type { Db } from './pool.js';

/**
 * The hand-off outboxes of the ingest routes (migration handoff-outboxes): `refresh_handoffs` (keys for a shop's
 * refresh workflow) and `reservation_handoffs` (signals for an order's reservation workflow). A route commits its
 * rows with what it received, in one statement; the sweeper (src/starters/http/handoffs.ts) claims rows for a
 * lease (one UPDATE), hands them to Temporal outside any transaction, deletes the ones Temporal took and releases
 * the others. No transaction stays open across Temporal calls: one would hold back pg_snapshot_xmin, which the
 * change feed's readers wait on (migration change-feed-commit-order). Several server processes sweep side by side;
 * a process that dies mid-sweep leaves its lease to expire. Hand-off is at least once, which the workflows absorb
 * (keys are a set; order events carry ids).
 */

export interface RefreshHandoffRow {
  id: string;
  shopId: string;
  key: SkuLocation;
  trigger: string;
  createdAt: Date;
}

export interface ReservationHandoffRow {
  id: string;
  handoff: OrderHandoff;
  createdAt: Date;
}

export type Outbox = 'refresh' | 'reservation';
const TABLES: Record<Outbox, string> = { refresh: 'refresh_handoffs', reservation: 'reservation_handoffs' };

interface ClaimOptions {
  shops: string[];
  limit: number;
  /** Only rows at least this old (the periodic sweep leaves young rows to the process that wrote them). */
  minAgeMs: number;
  /** How long the claim holds: past it, another sweeper takes the rows (this one died or hangs). */
  leaseMs: number;
}

/**
 * Claims up to `limit` unclaimed (or expired) rows of these shops, oldest first (within `first`, when given), in
 * one short statement. `where` narrows the rows (SQL over the table's columns, no parameters).
 */
async function claim<R>(
  db: Pick<Db, 'query'>,
  outbox: Outbox,
  columns: string,
  opts: ClaimOptions,
  narrow: { where?: string; first?: string } = {},
): Promise<(R & { id: string; created_at: Date })[]> {
  const table = TABLES[outbox];
  const { rows } = await db.query<R & { id: string; created_at: Date }>(
    `UPDATE ${table} SET claimed_until = clock_timestamp() + make_interval(secs => $4::double precision / 1000)
      WHERE id IN (SELECT id FROM ${table}
                    WHERE shop_id = ANY($1::text[]) AND created_at <= now() - make_interval(secs => $3::double precision / 1000)
                      AND (claimed_until IS NULL OR claimed_until < clock_timestamp())${narrow.where ? ` AND (${narrow.where})` : ''}
                    ORDER BY ${narrow.first ? `${narrow.first}, ` : ''}id LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING id::text, created_at, ${columns}`,
    [opts.shops, opts.limit, opts.minAgeMs, opts.leaseMs],
  );
  // RETURNING has no order: the hand-off goes in commit order.
  return rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

export async function claimRefreshHandoffs(db: Pick<Db, 'query'>, opts: ClaimOptions): Promise<RefreshHandoffRow[]> {
  const rows = await claim<{ shop_id: string; sku: string; location_id: string; trigger: string }>(db, 'refresh', 'shop_id, sku, location_id, trigger', opts);
  return rows.map((r) => ({ id: r.id, shopId: r.shop_id, key: { sku: r.sku, locationId: r.location_id }, trigger: r.trigger, createdAt: r.created_at }));
}

type ReservationColumns = { shop_id: string; order_id: string; signal: OrderHandoff['signal']; payload: OrderHandoff['payload'] };
const reservationRow = (r: ReservationColumns & { id: string; created_at: Date }): ReservationHandoffRow => ({
  id: r.id,
  handoff: { shopId: r.shop_id, orderId: r.order_id, signal: r.signal, payload: r.payload } as OrderHandoff,
  createdAt: r.created_at,
});

/** A WMS confirmation not converted yet (the confirmation lane, src/starters/http/confirmations.ts). */
const UNCONVERTED_AS = (t: string) => `${t}.signal = '${ALLOCATION_SIGNAL}' AND ${t}.converted_at IS NULL`;
const UNCONVERTED = UNCONVERTED_AS('reservation_handoffs');

/**
 * How long a converted confirmation's signal may wait while other confirmations of its shops wait to be converted:
 * during a WMS's burst, the machine converts first (the signal only brings a workflow's view up to date, and each
 * costs Temporal a workflow task and the worker the same conversion again, which found nothing left to do).
 */
const VIEW_SIGNAL_DEFER_SECONDS = 5;

/**
 * Signals for order workflows: every row but a WMS confirmation the confirmation lane has not been through, and a
 * converted one while a burst of conversions is under way (VIEW_SIGNAL_DEFER_SECONDS). An
 * order's events come before confirmations: a confirmation's units already left the count twice in the lane (its
 * signal only brings the workflow's view up to date), while an order event's claim is what keeps Shopify from
 * selling units another channel sold. Each kind keeps commit order.
 */
export async function claimReservationHandoffs(db: Pick<Db, 'query'>, opts: ClaimOptions): Promise<ReservationHandoffRow[]> {
  const rows = await claim<ReservationColumns>(db, 'reservation', 'shop_id, order_id, signal, payload', opts, {
    where: `NOT (${UNCONVERTED}) AND (signal <> '${ALLOCATION_SIGNAL}' OR converted_at < now() - interval '${VIEW_SIGNAL_DEFER_SECONDS} seconds'
            OR NOT EXISTS (SELECT 1 FROM reservation_handoffs u WHERE u.shop_id = reservation_handoffs.shop_id AND ${UNCONVERTED_AS('u')}))`,
    first: `signal = '${ALLOCATION_SIGNAL}'`,
  });
  return rows.map(reservationRow);
}

/** WMS confirmations the confirmation lane has not been through, oldest first. */
export async function claimUnconvertedConfirmations(db: Pick<Db, 'query'>, opts: ClaimOptions): Promise<ReservationHandoffRow[]> {
  const rows = await claim<ReservationColumns>(db, 'reservation', 'shop_id, order_id, signal, payload', opts, { where: UNCONVERTED });
  return rows.map(reservationRow);
}

/**
 * Confirmations past the lane: their rows are given back for the order lane, which signals them, and the keys whose
 * count the conversions changed are queued for the shops' refresh, in one statement (a crash before it leaves the
 * rows to be converted again, which converts nothing twice and queues the keys then). The rows in `queued` (converted
 * here, their keys among `dirty`) have their signal's payload marked `refreshQueued`, so the workflow does not queue
 * the same keys again; the others (left to their workflow) go as they came.
 */
export async function markConverted(
  db: Pick<Db, 'query'>,
  ids: string[],
  dirty: { shopId: string; key: SkuLocation; trigger: string }[],
  queued: string[] = [],
): Promise<void> {
  if (ids.length === 0 && dirty.length === 0) return;
  await db.query(
    `WITH marked AS (
       UPDATE reservation_handoffs
          SET converted_at = now(), claimed_until = NULL,
              payload = CASE WHEN id = ANY($6::bigint[]) THEN payload || '{"refreshQueued": true}'::jsonb ELSE payload END
        WHERE id = ANY($1::bigint[]) RETURNING 1
     )
     INSERT INTO refresh_handoffs (shop_id, sku, location_id, trigger)
     SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`,
    [ids, dirty.map((d) => d.shopId), dirty.map((d) => d.key.sku), dirty.map((d) => d.key.locationId), dirty.map((d) => d.trigger), queued],
  );
}

/** Deletes handed-off rows (by id: a row written after the claim stays for the next sweep). */
export async function deleteHandoffs(db: Pick<Db, 'query'>, outbox: Outbox, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`DELETE FROM ${TABLES[outbox]} WHERE id = ANY($1::bigint[])`, [ids]);
}

/** Gives claimed rows back at once (their hand-off failed): the next sweep, of any process, takes them. */
export async function releaseHandoffs(db: Pick<Db, 'query'>, outbox: Outbox, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`UPDATE ${TABLES[outbox]} SET claimed_until = NULL WHERE id = ANY($1::bigint[])`, [ids]);
}

/** Rows waiting in an outbox, and the age of the oldest (seconds, 0 when none). */
export async function pendingHandoffs(db: Pick<Db, 'query'>, outbox: Outbox): Promise<{ n: number; oldestSeconds: number }> {
  const { rows } = await db.query<{ n: number; oldest: number | null }>(
    `SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest FROM ${TABLES[outbox]}`,
  );
  return { n: rows[0]?.n ?? 0, oldestSeconds: rows[0]?.oldest ?? 0 };
}

/** A signal for an order's workflow and, for a WMS allocation, the confirmation's lines recorded with it. */
export interface ReservationHandoffItem {
  handoff: OrderHandoff;
  allocation?: AllocationEvent;
}

/**
 * Records many callers' signals in one statement (group commit): each allocation's lines in wms_allocations (a
 * repeat changes nothing: the conversion works from these rows, see recordAllocation), and every signal in
 * reservation_handoffs, in the callers' order.
 */
export async function recordReservationHandoffs(db: Pick<Db, 'query'>, items: ReservationHandoffItem[]): Promise<void> {
  if (items.length === 0) return;
  const lines = items.flatMap(({ handoff: h, allocation: a }) =>
    (a?.lines ?? []).map((l) => ({ shopId: h.shopId, orderId: h.orderId, allocationId: a!.allocationId, lineId: claimLineId(l.lineId, l.locationId), source: a!.source, sku: l.sku, locationId: l.locationId, quantity: l.quantity, occurredAt: a!.occurredAt })),
  );
  await db.query(
    `WITH lines AS (
       INSERT INTO wms_allocations (shop_id, order_id, allocation_id, line_id, source, sku, location_id, quantity, occurred_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::timestamptz[])
       ON CONFLICT DO NOTHING
       RETURNING 1
     )
     INSERT INTO reservation_handoffs (shop_id, order_id, signal, payload)
     SELECT shop_id, order_id, signal, payload
       FROM unnest($10::text[], $11::text[], $12::text[], $13::jsonb[]) WITH ORDINALITY AS h(shop_id, order_id, signal, payload, ord)
      ORDER BY ord`,
    [
      lines.map((l) => l.shopId),
      lines.map((l) => l.orderId),
      lines.map((l) => l.allocationId),
      lines.map((l) => l.lineId),
      lines.map((l) => l.source),
      lines.map((l) => l.sku),
      lines.map((l) => l.locationId),
      lines.map((l) => l.quantity),
      lines.map((l) => l.occurredAt),
      items.map((i) => i.handoff.shopId),
      items.map((i) => i.handoff.orderId),
      items.map((i) => i.handoff.signal),
      items.map((i) => JSON.stringify(i.handoff.payload)),
    ],
  );
}
