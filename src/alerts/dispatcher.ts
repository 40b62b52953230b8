import type { Logger } from 'pino';
import type { AlertsConfig } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { alertDeliveries } from '../observability/worker-metrics.js';
import type { AlertEndpoint } from './endpoints.js';
import { alertBody } from './format.js';
import { abandonStaleSends, claimDueDeliveries, enqueueAlerts, settleDelivery, type ClaimedDelivery, type DeliveryOutcome } from './outbox.js';

/** Network errors that prove the request never left: retrying cannot deliver the alert twice. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export interface AlertDispatcherDeps {
  db: Db;
  config: AlertsConfig;
  endpoints: AlertEndpoint[];
  logger: Pick<Logger, 'warn' | 'info'>;
  fetchImpl?: typeof fetch;
}

/**
 * Delivers alerts from the outbox (alert_deliveries) to the configured endpoints, at most once each: a row is
 * claimed before its request goes out, retried with backoff only after an answer that says it failed (or a
 * connection that never opened), and never resent after a timeout. Runs in the worker process.
 */
export class AlertDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly deps: AlertDispatcherDeps) {}

  start(): void {
    if (this.deps.endpoints.length === 0) return;
    const loop = () => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'alert dispatch failed; trying again'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.deps.config.poll_interval_ms);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: queue new alerts, give up on orphaned sends, send what is due. */
  async runOnce(): Promise<{ sent: number }> {
    const { db, config, endpoints } = this.deps;
    if (endpoints.length === 0) return { sent: 0 };
    await enqueueAlerts(db, endpoints, config.deliver_within_hours);
    await abandonStaleSends(db, config.request_timeout_ms + 30_000);
    const due = await claimDueDeliveries(db, endpoints.map((e) => e.name), 50);
    await Promise.all(due.map((d) => this.deliver(d)));
    return { sent: due.length };
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const endpoint = this.deps.endpoints.find((e) => e.name === d.endpoint)!;
    const outcome = await this.send(endpoint, d);
    await settleDelivery(this.deps.db, d.alert.id, d.endpoint, outcome);
    const label = outcome.status === 'pending' ? 'retry' : outcome.status;
    alertDeliveries.inc({ endpoint: d.endpoint, outcome: label });
    // The endpoint's name only: its URL may be a secret.
    if (outcome.status === 'delivered') this.deps.logger.info({ endpoint: d.endpoint, alertId: d.alert.id, kind: d.alert.kind, attempts: d.attempts }, 'alert delivered');
    else this.deps.logger.warn({ endpoint: d.endpoint, alertId: d.alert.id, kind: d.alert.kind, attempts: d.attempts, error: outcome.error }, `alert delivery ${label}`);
  }

  private async send(endpoint: AlertEndpoint, d: ClaimedDelivery): Promise<DeliveryOutcome> {
    const { config } = this.deps;
    const retry = (error: string): DeliveryOutcome => {
      if (d.attempts >= config.max_attempts) return { status: 'failed', error: `${error}; gave up after ${d.attempts} attempts` };
      const retryInMs = Math.min(config.retry_max_ms, config.retry_initial_ms * 2 ** (d.attempts - 1));
      return { status: 'pending', retryInMs, error };
    };
    let res: Response;
    try {
      res = await (this.deps.fetchImpl ?? fetch)(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-inventory-sync-alert-id': d.alert.id, 'idempotency-key': `inventory-sync-alert-${d.alert.id}` },
        body: JSON.stringify(alertBody(d.alert, endpoint.format)),
        signal: AbortSignal.timeout(config.request_timeout_ms),
      });
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      const code = ((err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code) as string | undefined;
      if (code !== undefined && NOT_SENT.has(code)) return retry(`not sent: ${code}`);
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${config.request_timeout_ms} ms` : `connection failed mid-request (${code ?? (err as Error).message})`;
      return { status: 'unknown', error: `${why}; it may have arrived, so it is not sent again` };
    }
    if (res.ok) return { status: 'delivered' };
    if (res.status === 408 || res.status === 429 || res.status >= 500) return retry(`HTTP ${res.status}`);
    return { status: 'failed', error: `HTTP ${res.status}: the endpoint refused the alert` };
  }
}
