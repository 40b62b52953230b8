import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Errors } from '../../domain/errors.js';
import { rateLimitKey } from './auth.js';
import { registerAlertMetrics } from '../../observability/alert-metrics.js';
import type { HttpDeps } from './deps.js';
import { BODY_LIMIT_BYTES } from './bounds.js';
import { errorHandler } from './errors.js';
import { createHandoffSweeper } from './handoffs.js';
import { IngestQuietLogController } from './request-logging.js';
import { atsRoutes } from './routes/ats.js';
import { healthRoutes } from './routes/health.js';
import { orderRoutes } from './routes/orders.js';
import { readRoutes } from './routes/reads.js';
import { shopifyWebhookRoutes } from './routes/shopify-webhooks.js';
import { sourceEventRoutes } from './routes/source-events.js';
import { wmsAllocationRoutes } from './routes/wms-allocations.js';

function fastify(deps: HttpDeps): FastifyInstance {
  const limits = deps.config.inventory_sync.http;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new IngestQuietLogController(),
    bodyLimit: BODY_LIMIT_BYTES,
    // A request must arrive whole in time, and idle sockets close: slow senders cannot hold connections open.
    requestTimeout: limits.request_timeout_ms,
    connectionTimeout: limits.connection_timeout_ms,
    // Node checks request timeouts on this interval (30 s by default, longer than short timeouts).
    http: { connectionsCheckingInterval: Math.min(1000, limits.request_timeout_ms) },
  });
  // Node only enforces requestTimeout when the headers timeout is not longer than it.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, limits.request_timeout_ms);
  app.setErrorHandler(errorHandler);
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpRequests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });
  return app;
}

/**
 * The public HTTP server: one file per group of routes under routes/, one error handler, 1 MiB bodies at most,
 * request and idle timeouts, per-token rate limits. Reads (/reservations, /metrics) are served here behind the
 * operator token, unless `inventory_sync.http.admin_port` moves them to the admin server.
 */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = fastify(deps);
  // Once per process's registry: the admin server, when there is one, serves the same registry.
  registerAlertMetrics(deps.metrics, deps.db);
  const limit = deps.config.inventory_sync.http.rate_limit;
  void app.register(rateLimit, {
    global: true,
    max: limit.max_requests,
    timeWindow: limit.window_ms,
    keyGenerator: (req) => rateLimitKey(deps, req),
    // Shared by every server process; a Redis outage does not take the API down with it.
    redis: deps.redis,
    nameSpace: 'rate-limit:',
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => Errors.RateLimited(`more than ${ctx.max} requests in ${limit.window_ms} ms for this token; retry in ${ctx.after}`),
  });
  // The ingest routes' outboxes (events, allocations, orders): swept while the server is up.
  const handoffs = createHandoffSweeper(deps);
  app.addHook('onReady', async () => handoffs.start());
  app.addHook('onClose', async () => handoffs.stop());
  void app.register(async (scope) => {
    healthRoutes(scope, deps);
    shopifyWebhookRoutes(scope, deps);
    wmsAllocationRoutes(scope, deps, handoffs);
    orderRoutes(scope, deps, handoffs);
    sourceEventRoutes(scope, deps, handoffs);
    atsRoutes(scope, deps);
    if (deps.config.inventory_sync.http.admin_port === undefined) readRoutes(scope, deps, { requireOperator: true });
  });
  return app;
}

/**
 * The admin server (`inventory_sync.http.admin_port`, on `admin_host`, loopback by default): the reads, off the
 * public port. With an operator token configured it is required here too.
 */
export function buildAdminServer(deps: HttpDeps): FastifyInstance {
  const app = fastify(deps);
  void app.register(async (scope) => readRoutes(scope, deps, { requireOperator: deps.config.operator !== undefined }));
  return app;
}
