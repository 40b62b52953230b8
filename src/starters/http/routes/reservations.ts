import type { FastifyInstance } from 'fastify';
import { Errors } from '../../../domain/errors.js';
import { reservationStatus } from '../../reservation-status.js';
import type { HttpDeps } from '../deps.js';

/** GET /reservations/:shop/:orderId: the reservation's state, lines and expiry. */
export function reservationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get<{ Params: { shop: string; orderId: string } }>('/reservations/:shop/:orderId', async (req, reply) => {
    const status = await reservationStatus(deps, req.params.shop, req.params.orderId);
    if (!status) throw Errors.NotFound(`no reservation for order ${req.params.orderId} of shop ${req.params.shop}`);
    reply.send(status);
  });
}
