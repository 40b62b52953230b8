import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Db } from '../db/pool.js';
import { pendingHandoffs, type Outbox } from '../db/handoffs.js';
import { explainListenError } from '../runtime/listen-error.js';
import { faultRegistry } from './fault-metrics.js';
import { workerRegistry } from './worker-metrics.js';

export interface WorkerMetricsServerOptions {
  /** METRICS_PORT; 0 = any free port. */
  port: number;
  host?: string;
  db: Db;
  redis: Redis;
  /** REDIS_KEY_PREFIX: the guard's keys are counted under it. */
  redisPrefix: string;
  /** The Temporal SDK's Prometheus exporter (Runtime telemetry), merged into every scrape. */
  temporalMetricsUrl?: string;
}

export interface WorkerMetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long a counted Redis key total is reused: counting walks the keyspace. */
const GUARD_COUNT_TTL_MS = 30_000;

/**
 * The state gauges, read at scrape time from where the state lives (PostgreSQL, Redis), so every worker reports
 * the same figures (take max, not sum, across workers). Each read uses a partial index; a failed read leaves the
 * gauge out of that scrape rather than failing it.
 */
function stateGauges(registry: Registry, opts: WorkerMetricsServerOptions): void {
  const { db, redis } = opts;
  const quietly = async (work: () => Promise<void>) => work().catch(() => undefined);
  new Gauge({
    name: 'isync_reservations',
    help: 'Live (not cancelled, fulfilled or expired) reservations, by shop and state',
    labelNames: ['shop', 'state'],
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const { rows } = await db.query<{ shop_id: string; state: string; n: number }>(
          `SELECT shop_id, state, count(*)::int AS n FROM reservations WHERE state NOT IN ('cancelled', 'fulfilled', 'expired') GROUP BY 1, 2`,
        );
        this.reset();
        for (const r of rows) this.set({ shop: r.shop_id, state: r.state }, r.n);
      });
    },
  });
  let webhookOldest = 0;
  new Gauge({
    name: 'isync_webhook_outbox_pending',
    help: 'Shopify webhook deliveries recorded but not yet handed to Temporal',
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const { rows } = await db.query<{ n: number; oldest: number | null }>(
          `SELECT count(*)::int AS n, extract(epoch FROM now() - min(received_at))::float8 AS oldest FROM webhook_deliveries WHERE outcome = 'pending'`,
        );
        this.set(rows[0]?.n ?? 0);
        webhookOldest = rows[0]?.oldest ?? 0;
      });
    },
  });
  new Gauge({
    name: 'isync_webhook_outbox_oldest_seconds',
    help: 'Age of the oldest webhook delivery not yet handed to Temporal (0 when none)',
    registers: [registry],
    collect() {
      this.set(webhookOldest);
    },
  });
  const handoffOldest: Record<Outbox, number> = { refresh: 0, reservation: 0 };
  new Gauge({
    name: 'isync_handoff_outbox_pending',
    help: 'Hand-offs of the ingest routes committed but not yet taken by Temporal, by outbox (refresh: keys of source events; reservation: allocations and orders)',
    labelNames: ['outbox'],
    registers: [registry],
    async collect() {
      await quietly(async () => {
        for (const outbox of ['refresh', 'reservation'] as const) {
          const { n, oldestSeconds } = await pendingHandoffs(db, outbox);
          this.set({ outbox }, n);
          handoffOldest[outbox] = oldestSeconds;
        }
      });
    },
  });
  new Gauge({
    name: 'isync_handoff_outbox_oldest_seconds',
    help: 'Age of the oldest hand-off not yet taken by Temporal, by outbox (0 when none)',
    labelNames: ['outbox'],
    registers: [registry],
    collect() {
      for (const outbox of ['refresh', 'reservation'] as const) this.set({ outbox }, handoffOldest[outbox]);
    },
  });
  new Gauge({
    name: 'isync_alert_outbox',
    help: 'Alert deliveries by status (pending, sending, delivered, failed, unknown) over the last 24 h',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const { rows } = await db.query<{ status: string; n: number }>(
          `SELECT d.status, count(*)::int AS n FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.at >= now() - interval '24 hours' GROUP BY 1`,
        );
        this.reset();
        for (const s of ['pending', 'sending', 'delivered', 'failed', 'unknown']) this.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
      });
    },
  });
  new Gauge({
    name: 'isync_alerts_raised_24h',
    help: 'Alerts raised in the last 24 h, by kind',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      await quietly(async () => {
        const { rows } = await db.query<{ kind: string; n: number }>(`SELECT kind, count(*)::int AS n FROM alerts WHERE at >= now() - interval '24 hours' GROUP BY 1`);
        this.reset();
        for (const r of rows) this.set({ kind: r.kind }, r.n);
      });
    },
  });
  let guardCount: { at: number; n: number } | undefined;
  new Gauge({
    name: 'isync_guard_keys',
    help: "Redis keys of the version guard (one hash per shop, sku and location, each with a TTL): watched so they never pile up (docs/design.md, the guarded write)",
    registers: [registry],
    async collect() {
      await quietly(async () => {
        if (!guardCount || Date.now() - guardCount.at > GUARD_COUNT_TTL_MS) {
          let n = 0;
          // SCAN patterns are not prefixed by ioredis: the prefix is spelled out here.
          const stream = redis.scanStream({ match: `${opts.redisPrefix}guard:*`, count: 1000 });
          for await (const keys of stream) n += (keys as string[]).length;
          guardCount = { at: Date.now(), n };
        }
        this.set(guardCount.n);
      });
    },
  });
}

/** Listens, turning a taken port into ISYNC_PORT_IN_USE naming the setting that chose it. */
async function listenOrExplain(server: Server | NetServer, port: number, host: string, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(explainListenError(err, port, host, setting)));
    server.listen(port, host, () => resolve());
  });
}

/** Fails now, with the same error the metrics server would give later, when the port is taken. */
export async function assertPortFree(port: number, setting: string, host = '0.0.0.0'): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  await listenOrExplain(probe, port, host, setting);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/**
 * The worker's GET /metrics on its own port: our counters (worker-metrics.ts, fault-metrics.ts), the state gauges
 * above, the process's own figures, and the Temporal SDK's metrics from its exporter, in one Prometheus text.
 */
export async function startWorkerMetricsServer(opts: WorkerMetricsServerOptions): Promise<WorkerMetricsServer> {
  const own = new Registry();
  collectDefaultMetrics({ register: own, prefix: 'isync_worker_' });
  stateGauges(own, opts);
  const registry = Registry.merge([workerRegistry, faultRegistry, own]);
  const temporalText = async (): Promise<string> => {
    if (!opts.temporalMetricsUrl) return '';
    try {
      const res = await fetch(opts.temporalMetricsUrl, { signal: AbortSignal.timeout(2000) });
      return res.ok ? await res.text() : `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
    } catch (err) {
      return `# Temporal SDK metrics unavailable: ${(err as Error).message}\n`;
    }
  };
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      void Promise.all([registry.metrics(), temporalText()]).then(
        ([ours, temporal]) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(`${ours}\n${temporal}`);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${(err as Error).message}\n`);
        },
      );
      return;
    }
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok\n' : 'not found: the worker serves GET /metrics\n');
  });
  await listenOrExplain(server, opts.port, opts.host ?? '0.0.0.0', 'METRICS_PORT');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
