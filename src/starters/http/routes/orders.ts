import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Errors } from '../../../domain/errors.js';
import { externalOrderId, workflowIds } from '../../../domain/keys.js';
import { ORDER_EVENT_SIGNAL, type OrderEvent } from '../../../domain/reservation-model.js';
import { authenticate, isChannel, requireShopScope } from '../auth.js';
import { idField, orderLines, shopIdField, timestampField } from '../bounds.js';
import type { HttpDeps } from '../deps.js';
import type { HandoffSweeper } from '../handoffs.js';
import { reservationHandoffCommit } from './wms-allocations.js';
import { parsePayload } from '../payload.js';

const orderBody = (maxSkewSeconds: number) => z.object({
  shopId: shopIdField,
  orderId: idField('an order id'),
  status: z.enum(['open', 'cancelled', 'fulfilled']).default('open'),
  /**
   * The channel's timestamp of this version of the order: an older version never replaces a newer one, so one dated
   * beyond the clock-skew allowance would make every later true version look older (refused).
   */
  updatedAt: timestampField({ maxSeconds: maxSkewSeconds, clock: "the channel's" }),
  lines: orderLines(0).default([]),
});

/**
 * POST /orders: an order from a channel Shopify does not count. Its workflow claims the lines AND lowers
 * Shopify's available by them (reversed exactly on cancel or expiry). Re-posting the order with a later
 * `updatedAt` changes its lines or status. Only a `channels` token, for the channel's shops; the order lives in the
 * channel's own id space (`ext:{channel}:{orderId}`), so no channel can touch a Shopify order or another's.
 * Answered 202 once the order event is committed in the reservation outbox (one statement shared with concurrent
 * requests); the sweeper hands it to the order's workflow (signal-with-start by workflow id; the workflow applies
 * an event id once), so the answer never claims less than happened: no 503 for an order Temporal in fact took.
 */
export function orderRoutes(app: FastifyInstance, deps: HttpDeps, handoffs: HandoffSweeper): void {
  const route = '/orders';
  const commit = reservationHandoffCommit(deps, route);
  const bodySchema = orderBody(deps.config.inventory_sync.source_events.max_clock_skew_seconds);
  app.post(route, async (req, reply) => {
    const started = performance.now();
    const channel = authenticate(deps, req, isChannel);
    const body = parsePayload(bodySchema, req.body, 'order');
    requireShopScope(channel, body.shopId);
    if (body.status === 'open' && body.lines.length === 0) throw Errors.PayloadInvalid('order: lines: expected at least one line', { field: 'lines' });
    const orderId = externalOrderId(channel.name, body.orderId);
    const event: OrderEvent = {
      kind: body.status === 'open' ? 'updated' : body.status,
      origin: 'external',
      at: body.updatedAt,
      deliveryId: `orders:${orderId}:${body.updatedAt}`,
      lines: body.lines,
    };
    await commit.submit({ handoff: { shopId: body.shopId, orderId, signal: ORDER_EVENT_SIGNAL, payload: event } });
    handoffs.kick('reservation');
    deps.metrics.handoffSeconds.observe({ route }, (performance.now() - started) / 1000);
    reply.status(202).send({ status: 'accepted', orderId, workflowId: workflowIds.reservation(body.shopId, orderId) });
  });
}
