import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors } from '../../../domain/errors.js';
import { reservationStatus } from '../../reservation-status.js';
import { authenticate, isOperator } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { consoleRoutes } from './console.js';
import { explainRoutes } from './explain.js';

/**
 * What an operator reads: GET /reservations/:shop/:orderId (an order's lines, quantities, locations and state;
 * each call is a Temporal describe and query), GET /metrics, GET /explain/:shop/:sku and the console (/console).
 * Never open on the public port: there they take
 * the operator token; the admin server (its own port) serves them with or without it (docs/security.md).
 */
export function readRoutes(app: FastifyInstance, deps: HttpDeps, opts: { requireOperator: boolean }): void {
  const guard = (req: FastifyRequest) => {
    if (opts.requireOperator) authenticate(deps, req, isOperator);
  };
  app.get<{ Params: { shop: string; orderId: string } }>('/reservations/:shop/:orderId', async (req, reply) => {
    guard(req);
    const status = await reservationStatus(deps, req.params.shop, req.params.orderId);
    if (!status) throw Errors.NotFound(`no reservation for order ${req.params.orderId} of shop ${req.params.shop}`);
    reply.send(status);
  });
  app.get('/metrics', async (req, reply) => {
    guard(req);
    reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  explainRoutes(app, deps, guard);
  consoleRoutes(app, deps, guard);
}
