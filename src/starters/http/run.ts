import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../runtime/context.js';
import { createLogger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import { explainListenError } from '../../runtime/listen-error.js';
import { Errors } from '../../domain/errors.js';
import { sharedTokens } from './auth.js';
import type { HttpDeps } from './deps.js';
import { buildAdminServer, buildHttpServer } from './server.js';

function urlOf(app: FastifyInstance, fallbackPort: number, host: string): string {
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : fallbackPort;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shownHost}:${actualPort}`;
}

/** Listens, turning a taken port into ISYNC_PORT_IN_USE naming the setting that chose it (as the worker's metrics port). */
async function listenNamed(app: FastifyInstance, port: number, host: string, setting: string): Promise<void> {
  try {
    await app.listen({ port, host });
  } catch (err) {
    throw explainListenError(err, port, host, setting);
  }
}

/**
 * Builds the server from a process's context and listens on HOST:PORT (port 0 = any free port); with
 * `inventory_sync.http.admin_port`, the admin server (the reads) too, closed with the public one.
 */
export async function startHttpServer(ctx: AppContext, port = ctx.env.PORT, host = ctx.env.HOST): Promise<{ app: FastifyInstance; url: string; adminUrl?: string }> {
  const shared = sharedTokens(ctx.config, process.env);
  if (shared.length > 0) throw Errors.ConfigInvalid(`two callers share a token: ${shared.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { paths: shared.map((p) => p.path) });
  const deps: HttpDeps = {
    db: ctx.db,
    redis: ctx.redis,
    config: ctx.config,
    temporal: ctx.temporal,
    taskQueue: ctx.env.TEMPORAL_TASK_QUEUE,
    metrics: createMetrics(),
    logger: createLogger(ctx.env.LOG_LEVEL, 'http'),
    env: process.env,
    sources: ctx.sources,
    shopify: ctx.shopify,
  };
  const app = buildHttpServer(deps);
  const { admin_port: adminPort, admin_host: adminHost } = ctx.config.inventory_sync.http;
  let adminUrl: string | undefined;
  if (adminPort !== undefined) {
    const admin = buildAdminServer(deps);
    await listenNamed(admin, adminPort, adminHost, 'inventory_sync.http.admin_port');
    adminUrl = urlOf(admin, adminPort, adminHost);
    app.addHook('onClose', async () => admin.close());
  }
  try {
    await listenNamed(app, port, host, 'PORT');
  } catch (err) {
    await app.close();
    throw err;
  }
  return { app, url: urlOf(app, port, host), ...(adminUrl ? { adminUrl } : {}) };
}
