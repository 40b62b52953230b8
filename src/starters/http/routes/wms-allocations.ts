import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordReservationHandoffs, type ReservationHandoffItem } from '../../../db/handoffs.js';
import { createGroupCommit } from '../../../db/group-commit.js';
import { Errors } from '../../../domain/errors.js';
import { externalOrderId, isExternalOrderId, workflowIds } from '../../../domain/keys.js';
import { ALLOCATION_SIGNAL, type AllocationEvent } from '../../../domain/reservation-model.js';
import { authenticate, isSourceOfRole, requireShopScope } from '../auth.js';
import { idField, orderLines, shopIdField, timestampField } from '../bounds.js';
import type { HttpDeps } from '../deps.js';
import type { HandoffSweeper } from '../handoffs.js';
import { parsePayload } from '../payload.js';

/** An allocation dated beyond the clock-skew allowance would never convert, pinning its order's claim: refused. */
const allocationBody = (maxSkewSeconds: number) => z.object({
  shopId: shopIdField,
  orderId: idField('an order id'),
  /** Set for an order a channel posted to /orders: its orderId is then the channel's own. */
  channel: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'expected a channel name').optional(),
  /** The WMS's id for this allocation: a repeat with the same id is applied once. */
  allocationId: idField('an allocation id'),
  /** On the WMS's clock, the same one its allocated-quantity events carry. */
  occurredAt: timestampField({ maxSeconds: maxSkewSeconds, clock: "the WMS's" }),
  lines: orderLines(1).min(1, 'expected at least one line'),
});

/** Concurrent requests of a route share one statement: the signals (and allocation lines) of all of them. */
export function reservationHandoffCommit(deps: HttpDeps, route: string) {
  return createGroupCommit<ReservationHandoffItem, void>({
    commit: async (items) => {
      await recordReservationHandoffs(deps.db, items);
      return items.map(() => undefined);
    },
    maxItems: 500,
    onGroup: (size) => deps.metrics.groupCommitSize.observe({ route }, size),
    onWaiting: (waiting) => deps.metrics.groupCommitWaiting.set({ route }, waiting),
  });
}

/**
 * POST /wms/allocations: the WMS confirms it allocated units of an order's lines. Authenticated with the token of
 * a `sources` entry of role `wms`, for its shops only (its name is the snapshot the units are folded into). Answered
 * 202 once the confirmation and its signal (the reservation outbox) are committed, in one statement shared with
 * concurrent requests. The sweeper converts it in PostgreSQL when the order is known (confirmations.ts), then hands
 * the signal to the order's workflow, so neither a Temporal outage nor a slow Temporal delays the conversion.
 */
export function wmsAllocationRoutes(app: FastifyInstance, deps: HttpDeps, handoffs: HandoffSweeper): void {
  const route = '/wms/allocations';
  const commit = reservationHandoffCommit(deps, route);
  const bodySchema = allocationBody(deps.config.inventory_sync.source_events.max_clock_skew_seconds);
  app.post(route, async (req, reply) => {
    const started = performance.now();
    const source = authenticate(deps, req, isSourceOfRole('wms'));
    const body = parsePayload(bodySchema, req.body, 'allocation');
    requireShopScope(source, body.shopId);
    if (body.channel !== undefined && !deps.config.channels.some((c) => c.name === body.channel)) {
      throw Errors.PayloadInvalid(`allocation: channel: "${body.channel}" is not a configured channel`, { field: 'channel' });
    }
    // A channel's order is named by its channel and its own id, never by our internal form (which would skip the
    // check above, and name channels that are not configured).
    if (body.channel === undefined && isExternalOrderId(body.orderId)) {
      throw Errors.PayloadInvalid(`allocation: orderId: "${body.orderId.slice(0, 80)}" is in the form we give channel orders; send the channel's own order id with "channel"`, { field: 'orderId' });
    }
    const orderId = body.channel ? externalOrderId(body.channel, body.orderId) : body.orderId;
    const event: AllocationEvent = { allocationId: body.allocationId, source: source.name, occurredAt: body.occurredAt, lines: body.lines };
    await commit.submit({ handoff: { shopId: body.shopId, orderId, signal: ALLOCATION_SIGNAL, payload: event }, allocation: event });
    handoffs.kick('confirmation');
    deps.metrics.handoffSeconds.observe({ route }, (performance.now() - started) / 1000);
    reply.status(202).send({ status: 'accepted', workflowId: workflowIds.reservation(body.shopId, orderId) });
  });
}
