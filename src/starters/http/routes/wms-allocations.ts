import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordAllocation } from '../../../db/claim-conversion.js';
import { Errors } from '../../../domain/errors.js';
import { externalOrderId } from '../../../domain/keys.js';
import { ALLOCATION_SIGNAL, type AllocationEvent } from '../../../domain/reservation-model.js';
import { authenticate, isSourceOfRole, requireShopScope } from '../auth.js';
import { idField, lineList, orderLine, shopIdField } from '../bounds.js';
import type { HttpDeps } from '../deps.js';
import { handOffOrUnavailable } from '../../../temporal/handoff.js';
import { parsePayload } from '../payload.js';

const allocationBody = z.object({
  shopId: shopIdField,
  orderId: idField('an order id'),
  /** Set for an order a channel posted to /orders: its orderId is then the channel's own. */
  channel: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'expected a channel name').optional(),
  /** The WMS's id for this allocation: a repeat with the same id is applied once. */
  allocationId: idField('an allocation id'),
  /** On the WMS's clock, the same one its allocated-quantity events carry. */
  occurredAt: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp' }),
  lines: lineList(orderLine(1)).min(1, 'expected at least one line'),
});

/**
 * POST /wms/allocations: the WMS confirms it allocated units of an order's lines. Authenticated with the token of
 * a `sources` entry of role `wms`, for its shops only (its name is the snapshot the units are folded into). The
 * confirmation is recorded before the hand-off, so a Temporal outage (503, the WMS retries) loses nothing.
 */
export function wmsAllocationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.post('/wms/allocations', async (req, reply) => {
    const started = performance.now();
    const source = authenticate(deps, req, isSourceOfRole('wms'));
    const body = parsePayload(allocationBody, req.body, 'allocation');
    requireShopScope(source, body.shopId);
    if (body.channel !== undefined && !deps.config.channels.some((c) => c.name === body.channel)) {
      throw Errors.PayloadInvalid(`allocation: channel: "${body.channel}" is not a configured channel`, { field: 'channel' });
    }
    const orderId = body.channel ? externalOrderId(body.channel, body.orderId) : body.orderId;
    const event: AllocationEvent = { allocationId: body.allocationId, source: source.name, occurredAt: body.occurredAt, lines: body.lines };
    await recordAllocation(deps.db, body.shopId, orderId, event);
    const workflowId = await handOffOrUnavailable(deps, { shopId: body.shopId, orderId, signal: ALLOCATION_SIGNAL, payload: event }, 'Temporal did not take the allocation; it is recorded, retry the request');
    deps.metrics.handoffSeconds.observe({ route: '/wms/allocations' }, (performance.now() - started) / 1000);
    reply.status(202).send({ status: 'accepted', workflowId });
  });
}
