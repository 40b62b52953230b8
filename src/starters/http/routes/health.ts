import type { FastifyInstance } from 'fastify';
import { redactUrlsIn } from '../../../observability/redact.js';
import type { HttpDeps } from '../deps.js';

type State = 'ok' | 'unavailable';

/** How long /healthz waits for Temporal before calling it unavailable. */
export const HEALTH_PROBE_DEADLINE_MS = 2000;

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
      // Bounded: without a deadline the client retries an unreachable server for ~20 s, longer than a load
      // balancer waits for a probe, so a Temporal outage looked like a hung server instead of a 503.
      probe('temporal', () => deps.temporal.withDeadline(Date.now() + HEALTH_PROBE_DEADLINE_MS, () => deps.temporal.connection.workflowService.getSystemInfo({}))),
    ]);
    const ok = postgres === 'ok' && redis === 'ok' && temporal === 'ok';
    reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', postgres, redis, temporal });
  });
}
