import { Gauge } from 'prom-client';
import type { Db } from '../db/pool.js';
import type { Metrics } from './metrics.js';

/**
 * `isync_alerts{kind}`: alerts stored in PostgreSQL by kind (expired reservations, drift, Shopify user errors,
 * ...), read at scrape time, so alerts raised by any worker show on the server's /metrics.
 */
export function registerAlertMetrics(metrics: Metrics, db: Db): void {
  if (metrics.registry.getSingleMetric('isync_alerts')) return;
  new Gauge({
    name: 'isync_alerts',
    help: 'Alerts raised (the alerts table), by kind',
    labelNames: ['kind'],
    registers: [metrics.registry],
    async collect() {
      try {
        const { rows } = await db.query<{ kind: string; n: number }>('SELECT kind, count(*)::int AS n FROM alerts GROUP BY kind');
        this.reset();
        for (const r of rows) this.set({ kind: r.kind }, r.n);
      } catch {
        // PostgreSQL down: /healthz says so; /metrics still answers with the other metrics.
      }
    },
  });
}
