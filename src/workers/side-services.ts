import { AlertDispatcher } from '../alerts/dispatcher.js';
import type { AlertEndpoint } from '../alerts/endpoints.js';
import { createLogger } from '../observability/logger.js';
import { startWorkerMetricsServer, type WorkerMetricsServer } from '../observability/metrics-server.js';
import type { AppContext } from '../runtime/context.js';
import { markDirty } from '../temporal/handoff.js';
import { createRecheckSweeper } from './recheck-sweeper.js';

export interface WorkerSideServices {
  metrics: WorkerMetricsServer;
  alerts: AlertDispatcher;
  close(): Promise<void>;
}

/**
 * What runs beside a worker in its process: GET /metrics on METRICS_PORT (a taken port fails the start, naming
 * it), the alert dispatcher for the configured endpoints (resolved, and so checked, by the caller first), and the
 * sweeper that refreshes keys once a committed reading they subtracted has expired.
 */
export async function startWorkerSideServices(ctx: AppContext, endpoints: AlertEndpoint[], temporalMetricsUrl?: string): Promise<WorkerSideServices> {
  const metrics = await startWorkerMetricsServer({
    port: ctx.env.METRICS_PORT,
    db: ctx.db,
    redis: ctx.redis,
    redisPrefix: ctx.env.REDIS_KEY_PREFIX,
    ...(temporalMetricsUrl ? { temporalMetricsUrl } : {}),
  });
  const alerts = new AlertDispatcher({ db: ctx.db, config: ctx.config.inventory_sync.alerts, endpoints, logger: createLogger(ctx.env.LOG_LEVEL, 'alerts') });
  alerts.start();
  const rechecks = createRecheckSweeper({
    redis: ctx.redis,
    shops: ctx.config.shops.map((s) => s.id),
    markDirty: (input) => markDirty({ temporal: ctx.temporal, taskQueue: ctx.env.TEMPORAL_TASK_QUEUE }, input),
    logger: createLogger(ctx.env.LOG_LEVEL, 'recheck'),
  });
  rechecks.start();
  return {
    metrics,
    alerts,
    close: async () => {
      await rechecks.stop();
      await alerts.stop();
      await metrics.close();
    },
  };
}
