import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The worker's own metrics, one registry per process beside the fault counters (fault-metrics.ts): counted where
 * the work happens (the audit write, reconciliation, the Shopify transport, the alert outbox) and served with the
 * Temporal SDK's metrics on the worker's metrics port (metrics-server.ts). Labels carry ids only.
 */
export const workerRegistry = new Registry();

export const shopifyCalls = new Counter({
  name: 'isync_shopify_calls_total',
  help: 'Admin API GraphQL requests sent, by shop domain, operation and HTTP status (0: no response)',
  labelNames: ['shop', 'operation', 'status'],
  registers: [workerRegistry],
});

export const shopifyCostPoints = new Counter({
  name: 'isync_shopify_cost_points_total',
  help: "Query cost points Shopify charged (actualQueryCost; requestedQueryCost when throttled), by shop domain and operation",
  labelNames: ['shop', 'operation'],
  registers: [workerRegistry],
});

export const shopifyThrottles = new Counter({
  name: 'isync_shopify_throttle_responses_total',
  help: 'Admin API responses that were THROTTLED (429 or a THROTTLED error), by shop domain and operation',
  labelNames: ['shop', 'operation'],
  registers: [workerRegistry],
});

export const writes = new Counter({
  name: 'isync_writes_total',
  help: 'Audited inventory writes per key, by shop and outcome (applied, replayed, stale, superseded, error, abandoned, ...)',
  labelNames: ['shop', 'outcome'],
  registers: [workerRegistry],
});

export const eventToShopifySeconds = new Histogram({
  name: 'isync_event_to_shopify_seconds',
  help: "Time from a source change being recorded to the write of the key's new ATS being applied in Shopify",
  labelNames: ['shop'],
  buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900],
  registers: [workerRegistry],
});

export const reconcileKeys = new Counter({
  name: 'isync_reconcile_keys_total',
  help: 'Keys reconciliation compared with Shopify, by shop and result (checked, drifted, corrected, breached)',
  labelNames: ['shop', 'result'],
  registers: [workerRegistry],
});

export const driftUnits = new Counter({
  name: 'isync_drift_units_total',
  help: 'Absolute units of drift reconciliation found between Shopify and ATS, by shop',
  labelNames: ['shop'],
  registers: [workerRegistry],
});

export const reservationsExpired = new Counter({
  name: 'isync_reservations_expired_total',
  help: 'Reservations released by their expiry timer, by shop',
  labelNames: ['shop'],
  registers: [workerRegistry],
});

export const leaseWaits = new Counter({
  name: 'isync_lease_waits_total',
  help: "Times a computation waited for an older one's write lease on a key, by shop",
  labelNames: ['shop'],
  registers: [workerRegistry],
});

export const alertDeliveries = new Counter({
  name: 'isync_alert_deliveries_total',
  help: 'Alert delivery attempts, by endpoint and outcome (delivered, retry, failed, unknown)',
  labelNames: ['endpoint', 'outcome'],
  registers: [workerRegistry],
});
