import type { FastifyInstance } from 'fastify';
import { redactUrlsIn } from '../../../observability/redact.js';
import type { HttpDeps } from '../deps.js';

type State = 'ok' | 'unavailable';

/** Liveness with the state of each dependency; 503 when any is down so a load balancer stops routing here. */
export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  // Anyone can ask: the answer names states only. Why a dependency is down (addresses, driver messages) goes to the log.
  const probe = async (name: string, fn: () => Promise<unknown>): Promise<State> => {
    try {
      await fn();
      return 'ok';
    } catch (err) {
      deps.logger.warn({ dependency: name, reason: redactUrlsIn((err as Error).message) }, 'health probe failed');
      return 'unavailable';
    }
  };
  app.get('/healthz', { config: { rateLimit: false } }, async (_req, reply) => {
    const [postgres, redis, temporal] = await Promise.all([
      probe('postgres', () => deps.db.query('SELECT 1')),
      probe('redis', () => deps.redis.ping()),
      probe('temporal', () => deps.temporal.connection.workflowService.getSystemInfo({})),
    ]);
    const ok = postgres === 'ok' && redis === 'ok' && temporal === 'ok';
    reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', postgres, redis, temporal });
  });
}
