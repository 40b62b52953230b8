import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.js';

async function probe(fn: () => Promise<unknown>): Promise<'ok' | string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Liveness with the state of each dependency; 503 when any is down so a load balancer stops routing here. */
export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async (_req, reply) => {
    const [postgres, redis, temporal] = await Promise.all([
      probe(() => deps.db.query('SELECT 1')),
      probe(() => deps.redis.ping()),
      probe(() => deps.temporal.connection.workflowService.getSystemInfo({})),
    ]);
    const ok = postgres === 'ok' && redis === 'ok' && temporal === 'ok';
    reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', postgres, redis, temporal });
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
