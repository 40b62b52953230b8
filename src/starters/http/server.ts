import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerAlertMetrics } from '../../observability/alert-metrics.js';
import type { HttpDeps } from './deps.js';
import { errorHandler } from './errors.js';
import { healthRoutes } from './routes/health.js';
import { orderRoutes } from './routes/orders.js';
import { reservationRoutes } from './routes/reservations.js';
import { shopifyWebhookRoutes } from './routes/shopify-webhooks.js';
import { sourceEventRoutes } from './routes/source-events.js';
import { wmsAllocationRoutes } from './routes/wms-allocations.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** The HTTP server: one file per group of routes under routes/, one error handler, 1 MiB bodies at most. */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: BODY_LIMIT_BYTES });
  app.setErrorHandler(errorHandler);
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpRequests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });
  registerAlertMetrics(deps.metrics, deps.db);
  healthRoutes(app, deps);
  shopifyWebhookRoutes(app, deps);
  wmsAllocationRoutes(app, deps);
  orderRoutes(app, deps);
  reservationRoutes(app, deps);
  sourceEventRoutes(app, deps);
  return app;
}
