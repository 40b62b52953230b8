import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process, served at GET /metrics. Metric names are part of the operator's interface. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'isync_' });
  return {
    registry,
    httpRequests: new Counter({ name: 'isync_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [registry] }),
    sourceEvents: new Counter({ name: 'isync_source_events_total', help: 'Source events received, by source and outcome', labelNames: ['source', 'outcome'], registers: [registry] }),
    webhooks: new Counter({ name: 'isync_webhooks_total', help: 'Shopify webhook deliveries, by topic and outcome', labelNames: ['topic', 'outcome'], registers: [registry] }),
    groupCommitWaiting: new Gauge({ name: 'isync_group_commit_waiting', help: 'Requests waiting for a group commit (queued behind the one in flight, or in it), by route', labelNames: ['route'], registers: [registry] }),
    groupCommitSize: new Histogram({
      name: 'isync_group_commit_size',
      help: 'Requests per group-committed transaction, by route',
      labelNames: ['route'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
    handoffSeconds: new Histogram({
      name: 'isync_handoff_seconds',
      help: 'Time from request to answer: the request is durably recorded (with its hand-off in an outbox, or signalled)',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    confirmationsBeforeOrder: new Counter({
      name: 'isync_wms_confirmations_before_order_total',
      help: 'WMS confirmations whose order had no reservation when handed off: kept in wms_allocations for the order\'s first claim, no workflow started',
      registers: [registry],
    }),
    handoffPassSeconds: new Histogram({
      name: 'isync_handoff_pass_seconds',
      help: 'One pass of the hand-off sweeper, by lane (refresh, reservation, confirmation) and step (claim: the rows from PostgreSQL; handoff: the Temporal calls; convert: the WMS confirmations converted in PostgreSQL; settle: deleting or marking what was done)',
      labelNames: ['outbox', 'step'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    handoffLagSeconds: new Histogram({
      name: 'isync_handoff_lag_seconds',
      help: 'Time a hand-off waited in its outbox, from the commit to Temporal taking it, by outbox (refresh, reservation); for the confirmation lane, from the commit to the confirmation being converted (or left for its workflow, or for an order not seen yet)',
      labelNames: ['outbox'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
