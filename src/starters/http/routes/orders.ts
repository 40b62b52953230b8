import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Errors } from '../../../domain/errors.js';
import { ORDER_EVENT_SIGNAL, type OrderEvent } from '../../../domain/reservation-model.js';
import type { HttpDeps } from '../deps.js';
import { handOffOrUnavailable, requireShop } from '../order-handoff.js';
import { parsePayload } from '../payload.js';
import { authenticateSource } from '../source-token.js';

const orderBody = z.object({
  shopId: z.string().min(1),
  orderId: z.string().min(1),
  status: z.enum(['open', 'cancelled', 'fulfilled']).default('open'),
  /** The channel's timestamp of this version of the order: an older version never replaces a newer one. */
  updatedAt: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp' }),
  lines: z
    .array(
      z.object({
        lineId: z.string().min(1),
        sku: z.string().min(1),
        locationId: z.string().min(1),
        quantity: z.number().int().nonnegative('expected a whole number >= 0'),
      }),
    )
    .default([]),
});

/**
 * POST /orders: an order from a channel Shopify does not count. Its workflow claims the lines AND lowers
 * Shopify's available by them (reversed exactly on cancel or expiry). Re-posting the order with a later
 * `updatedAt` changes its lines or status. Authenticated with any configured source's token.
 */
export function orderRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.post('/orders', async (req, reply) => {
    const started = performance.now();
    authenticateSource(deps, req);
    const body = parsePayload(orderBody, req.body, 'order');
    requireShop(deps, body.shopId);
    if (body.status === 'open' && body.lines.length === 0) throw Errors.PayloadInvalid('order: lines: expected at least one line', { field: 'lines' });
    const event: OrderEvent = {
      kind: body.status === 'open' ? 'updated' : body.status,
      origin: 'external',
      at: body.updatedAt,
      deliveryId: `orders:${body.orderId}:${body.updatedAt}`,
      lines: body.lines,
    };
    const workflowId = await handOffOrUnavailable(deps, { shopId: body.shopId, orderId: body.orderId, signal: ORDER_EVENT_SIGNAL, payload: event }, 'Temporal did not take the order; retry the request');
    deps.metrics.handoffSeconds.observe({ route: '/orders' }, (performance.now() - started) / 1000);
    reply.status(202).send({ status: 'accepted', workflowId });
  });
}
