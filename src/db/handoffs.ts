import type { PoolClient } from 'pg';
import { claimLineId, type AllocationEvent } from '../domain/reservation-model.js';
import type { SkuLocation } from '../domain/sku-location.js';
import type { OrderHandoff } from '../temporal/handoff.js';
import type { Db } from './pool.js';

/**
 * The hand-off outboxes of the ingest routes (migration handoff-outboxes): `refresh_handoffs` (keys for a shop's
 * refresh workflow) and `reservation_handoffs` (signals for an order's reservation workflow). A route commits its
 * rows with what it received, in one statement; the sweeper (src/starters/http/handoffs.ts) claims rows with
 * FOR UPDATE SKIP LOCKED, hands them to Temporal, and deletes the ones Temporal took, in the same transaction.
 * Several server processes sweep side by side; a process that dies mid-sweep releases its rows with its
 * connection. Hand-off is at least once, which the workflows absorb (keys are a set; order events carry ids).
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

/** Claims up to `limit` rows of these shops, oldest first, at least `minAgeMs` old; rows another sweeper holds are skipped. */
export async function claimRefreshHandoffs(client: PoolClient, opts: { shops: string[]; limit: number; minAgeMs: number }): Promise<RefreshHandoffRow[]> {
  const { rows } = await client.query<{ id: string; shop_id: string; sku: string; location_id: string; trigger: string; created_at: Date }>(
    `SELECT id::text, shop_id, sku, location_id, trigger, created_at FROM refresh_handoffs
      WHERE shop_id = ANY($1::text[]) AND created_at <= now() - make_interval(secs => $3::double precision / 1000)
      ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [opts.shops, opts.limit, opts.minAgeMs],
  );
  return rows.map((r) => ({ id: r.id, shopId: r.shop_id, key: { sku: r.sku, locationId: r.location_id }, trigger: r.trigger, createdAt: r.created_at }));
}

/** As claimRefreshHandoffs, for the reservation outbox. */
export async function claimReservationHandoffs(client: PoolClient, opts: { shops: string[]; limit: number; minAgeMs: number }): Promise<ReservationHandoffRow[]> {
  const { rows } = await client.query<{ id: string; shop_id: string; order_id: string; signal: OrderHandoff['signal']; payload: OrderHandoff['payload']; created_at: Date }>(
    `SELECT id::text, shop_id, order_id, signal, payload, created_at FROM reservation_handoffs
      WHERE shop_id = ANY($1::text[]) AND created_at <= now() - make_interval(secs => $3::double precision / 1000)
      ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [opts.shops, opts.limit, opts.minAgeMs],
  );
  return rows.map((r) => ({ id: r.id, handoff: { shopId: r.shop_id, orderId: r.order_id, signal: r.signal, payload: r.payload } as OrderHandoff, createdAt: r.created_at }));
}

/** Deletes handed-off rows (by id: a row written after the claim stays for the next sweep). */
export async function deleteHandoffs(client: PoolClient, outbox: Outbox, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query(`DELETE FROM ${TABLES[outbox]} WHERE id = ANY($1::bigint[])`, [ids]);
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
