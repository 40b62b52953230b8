import type { Client } from '@temporalio/client';
import { readReservation } from '../db/claims.js';
import type { Db } from '../db/pool.js';
import { earlyConfirmationLines } from '../db/early-confirmations.js';
import { isExternalOrderId, workflowIds } from '../domain/keys.js';
import { isTerminal, STATUS_QUERY, type ReservationStatus } from '../domain/reservation-model.js';

/**
 * An order's reservation: from its running workflow (query `status`), or from the database row once the
 * workflow has closed (or when Temporal cannot answer). Null when the order is unknown. While the workflow runs,
 * its lines and state come from the database all the same: the sweeper converts WMS confirmations there before
 * the workflow hears of them (src/starters/http/confirmations.ts), and every line the workflow holds is a copy
 * of a row it wrote.
 */
export async function reservationStatus(deps: { temporal: Client; db: Db }, shopId: string, rawOrderId: string): Promise<ReservationStatus | null> {
  const orderId = numericOrderId(rawOrderId);
  const handle = deps.temporal.workflow.getHandle(workflowIds.reservation(shopId, orderId));
  try {
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') {
      // PostgreSQL out of reach: the workflow's own view is still an answer.
      const [view, row] = await Promise.all([handle.query<ReservationStatus>(STATUS_QUERY), readReservation(deps.db, shopId, orderId).catch(() => null)]);
      const current = row && !isTerminal(view.state) && view.state !== 'pending' ? { state: row.state, lines: row.lines } : {};
      return { ...view, ...current, source: 'workflow' };
    }
  } catch {
    // Not found, Temporal unreachable, or no worker to answer: the database row is still an honest answer.
  }
  const row = await readReservation(deps.db, shopId, orderId);
  if (!row) {
    // Confirmed by a WMS, the order not seen yet: no workflow runs for it until the order comes.
    const early = await earlyConfirmationLines(deps.db, shopId, orderId);
    if (early.length === 0) return null;
    return { shopId, orderId, origin: isExternalOrderId(orderId) ? 'external' : 'shopify', state: 'pending', lines: early, lastEventAt: null, expiresAt: null, staleEventsIgnored: 0, source: 'database' };
  }
  return { shopId, orderId, origin: row.origin, state: row.state, lines: row.lines, lastEventAt: row.lastEventAt, expiresAt: row.expiresAt, staleEventsIgnored: 0, source: 'database' };
}

/** Shopify's order gid (gid://shopify/Order/123) or its number: reservations are keyed by the number. */
export function numericOrderId(orderId: string): string {
  return /^gid:\/\/shopify\/Order\/(\d+)$/.exec(orderId.trim())?.[1] ?? orderId.trim();
}
