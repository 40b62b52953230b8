import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordAllocation } from '../../../activities/claim-conversion.js';
import { ALLOCATION_SIGNAL, type AllocationEvent } from '../../../domain/reservation-model.js';
import type { HttpDeps } from '../deps.js';
import { handOffOrUnavailable, requireShop } from '../order-handoff.js';
import { parsePayload } from '../payload.js';
import { authenticateSource } from '../source-token.js';

const allocationBody = z.object({
  shopId: z.string().min(1),
  orderId: z.string().min(1),
  /** The WMS's id for this allocation: a repeat with the same id is applied once. */
  allocationId: z.string().min(1),
  /** On the WMS's clock, the same one its allocated-quantity events carry. */
  occurredAt: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp' }),
  lines: z
    .array(
      z.object({
        lineId: z.string().min(1),
        sku: z.string().min(1),
        locationId: z.string().min(1),
        quantity: z.number().int().positive('expected a whole number > 0'),
      }),
    )
    .min(1, 'expected at least one line'),
});

/**
 * POST /wms/allocations: the WMS confirms it allocated units of an order's lines. Authenticated with the token of
 * a `sources` entry of role `wms` (its name is the snapshot the units are folded into). The confirmation is
 * recorded before the hand-off, so a Temporal outage (503, the WMS retries) loses nothing.
 */
export function wmsAllocationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.post('/wms/allocations', async (req, reply) => {
    const started = performance.now();
    const source = authenticateSource(deps, req, ['wms']);
    const body = parsePayload(allocationBody, req.body, 'allocation');
    requireShop(deps, body.shopId);
    const event: AllocationEvent = { allocationId: body.allocationId, source: source.name, occurredAt: body.occurredAt, lines: body.lines };
    await recordAllocation(deps.db, body.shopId, body.orderId, event);
    const workflowId = await handOffOrUnavailable(deps, { shopId: body.shopId, orderId: body.orderId, signal: ALLOCATION_SIGNAL, payload: event }, 'Temporal did not take the allocation; it is recorded, retry the request');
    deps.metrics.handoffSeconds.observe({ route: '/wms/allocations' }, (performance.now() - started) / 1000);
    reply.status(202).send({ status: 'accepted', workflowId });
  });
}
