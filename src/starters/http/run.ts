import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../runtime/context.js';
import { createLogger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import { buildHttpServer } from './server.js';

/** Builds the server from a process's context and listens on HOST:PORT (port 0 = any free port). */
export async function startHttpServer(ctx: AppContext, port = ctx.env.PORT, host = ctx.env.HOST): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildHttpServer({
    db: ctx.db,
    redis: ctx.redis,
    config: ctx.config,
    temporal: ctx.temporal,
    taskQueue: ctx.env.TEMPORAL_TASK_QUEUE,
    metrics: createMetrics(),
    logger: createLogger(ctx.env.LOG_LEVEL, 'http'),
    env: process.env,
  });
  await app.listen({ port, host });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { app, url: `http://${shownHost}:${actualPort}` };
}
