import { z } from 'zod';

/**
 * The YAML configuration (INVENTORY_SYNC_CONFIG). Its `inventory_sync` block has the seed's template keys with the
 * template's defaults; `shops` and `sources` are ours. Secrets never live in the file: it names environment variables.
 */
const positiveInt = (what: string) =>
  z.number({ error: `expected a positive number (${what})` }).int('expected a whole number').positive('expected a positive number');
const nonNegative = z.number({ error: 'expected a number >= 0' }).min(0, 'expected a number >= 0');
const positive = z.number({ error: 'expected a positive number' }).positive('expected a positive number');
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as SHOPIFY_TOKEN');
const CRON = /^(\S+\s+){4}\S+$/;

const aggregation = z.strictObject({
  cache_ttl_seconds: nonNegative.default(30),
  parallel_fetch_timeout_ms: positiveInt('milliseconds').default(5000),
  /** The shop's refresh workflow flushes when 250 keys are pending or this long after the first one arrived. */
  coalesce_window_ms: nonNegative.default(200),
});

const reservations = z.strictObject({
  ttl_hours: positive.default(24),
  /** Overrides ttl_hours when set; tests and demos use seconds because time skipping is not available. */
  ttl_seconds: positive.optional(),
  auto_release_enabled: z.boolean().default(true),
});

const deltaSync = z.strictObject({
  interval_minutes: positive.default(15),
  batch_size: positiveInt('items per batch').max(250, 'expected at most 250 (one Shopify call)').default(100),
  deduplication: z.boolean().default(true),
});

/** Worker capacity (src/workers/worker.ts explains the defaults, measured with bench/flash-sale on 2 cores). */
const worker = z
  .strictObject({
    /** Workflow tasks at once; a task holds its slot while its local activities (the claim) run. */
    max_concurrent_workflow_tasks: positiveInt('workflow tasks').default(100),
    /** Long polls for workflow tasks; half of them serve the non-sticky queue that delivers new orders. */
    workflow_task_pollers: positiveInt('pollers').min(2, 'at least 2 (one sticky, one not)').default(20),
    /** Threads that run workflow code. */
    workflow_threads: positiveInt('threads').max(16, 'at most 16').default(2),
    max_concurrent_activities: positiveInt('activities').default(100),
    max_concurrent_local_activities: positiveInt('local activities').default(100),
  })
  .refine((w) => w.workflow_task_pollers <= w.max_concurrent_workflow_tasks, {
    path: ['workflow_task_pollers'],
    message: 'cannot exceed max_concurrent_workflow_tasks',
  });

const reconciliation = z.strictObject({
  schedule: z.string().regex(CRON, 'expected a 5-field cron expression such as "0 2 * * *"').default('0 2 * * *'),
  discrepancy_threshold: nonNegative.default(5),
  alert_on_breach: z.boolean().default(true),
});

/** Where alerts go (docs/operations.md): a generic JSON POST or a Slack incoming webhook; a secret URL by url_env. */
const alertEndpoint = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a name of lowercase letters, digits, _ and -'),
    format: z.enum(['json', 'slack'], { error: 'expected one of json, slack' }).default('json'),
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://alerts.example.com/inventory-sync' }).optional(),
    /** The environment variable that holds the URL (a Slack webhook URL is a secret). */
    url_env: envName.optional(),
    /** Only these alert kinds (default: all). */
    kinds: z.array(z.string().min(1)).optional(),
  })
  .refine((e) => (e.url === undefined) !== (e.url_env === undefined), { message: 'give exactly one of url and url_env' });

const alerts = z.strictObject({
  endpoints: z.array(alertEndpoint).default([]),
  /** Attempts per alert and endpoint; retries back off from retry_initial_ms, doubling up to retry_max_ms. */
  max_attempts: positiveInt('attempts').default(12),
  retry_initial_ms: positiveInt('milliseconds').default(1000),
  retry_max_ms: positiveInt('milliseconds').default(300_000),
  /** An answer later than this is a timeout: the alert may have arrived, so it is never sent again. */
  request_timeout_ms: positiveInt('milliseconds').default(10_000),
  /** Alerts older than this are not delivered (e.g. raised before an endpoint was configured). */
  deliver_within_hours: positive.default(24),
  poll_interval_ms: positiveInt('milliseconds').default(2000),
});

const bufferOverride = z.strictObject({
  strategy: z.enum(['static', 'dynamic', 'velocity_based']).optional(),
  units: nonNegative.optional(),
  percentage: nonNegative.max(100, 'expected a percentage <= 100').optional(),
});

const safetyBuffers = z.strictObject({
  strategy: z.enum(['static', 'dynamic', 'velocity_based'], { error: 'expected one of static, dynamic, velocity_based' }).default('dynamic'),
  default_percentage: nonNegative.max(100, 'expected a percentage <= 100').default(10),
  static_units: nonNegative.default(0),
  velocity: z
    .strictObject({
      window_days: positiveInt('days').default(28),
      lead_time_days: positive.default(7),
      service_level_z: positive.default(1.65),
    })
    .prefault({}),
  /** Per-SKU overrides, keyed by SKU. */
  overrides: z.record(z.string(), bufferOverride).default({}),
});

export const shopSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a short id of lowercase letters, digits and dashes'),
  domain: z.string().regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, 'expected a domain such as demo-store.myshopify.com'),
  plan: z.enum(['standard', 'advanced', 'plus', 'enterprise']).default('standard'),
  access_token_env: envName,
  webhook_secret_env: envName,
});

export const sourceSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a name of lowercase letters, digits, _ and -'),
  /** Which ATS component this source supplies. */
  role: z.enum(['erp', 'wms', 'pos'], { error: 'expected one of erp, wms, pos' }),
  type: z.enum(['postgres', 'http', 'simulator'], { error: 'expected one of postgres, http, simulator' }),
  /** `delta` sources have a change feed; `full` ones (the seed's legacy ERP) are re-read whole each run. */
  mode: z.enum(['delta', 'full']).default('delta'),
  /** Shared secret that `POST /sources/:source/events` must present as a bearer token. */
  token_env: envName.optional(),
  url: z.url({ error: 'expected an http(s) URL' }).optional(),
  interval_minutes: positive.optional(),
  /** http sources: the bearer token we present to the source's own API (docs/sources.md). */
  pull_token_env: envName.optional(),
  /** http sources: bound on change-feed and snapshot requests (component reads use parallel_fetch_timeout_ms). */
  request_timeout_ms: positiveInt('milliseconds').optional(),
});

export const configSchema = z
  .strictObject({
    inventory_sync: z
      .strictObject({
        aggregation: aggregation.prefault({}),
        reservations: reservations.prefault({}),
        delta_sync: deltaSync.prefault({}),
        reconciliation: reconciliation.prefault({}),
        safety_buffers: safetyBuffers.prefault({}),
        worker: worker.prefault({}),
        alerts: alerts.prefault({}),
      })
      .prefault({}),
    shops: z.array(shopSchema).default([]),
    sources: z.array(sourceSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = (items: { key: string }[], path: string, what: string) => {
      const names = new Set<string>();
      items.forEach((item, i) => {
        if (names.has(item.key)) ctx.addIssue({ code: 'custom', path: [path, i], message: `duplicate ${what} "${item.key}"` });
        names.add(item.key);
      });
    };
    seen(cfg.shops.map((s) => ({ key: s.id })), 'shops', 'shop id');
    seen(cfg.shops.map((s) => ({ key: s.domain })), 'shops', 'shop domain');
    seen(cfg.sources.map((s) => ({ key: s.name })), 'sources', 'source name');
    cfg.inventory_sync.alerts.endpoints.forEach((e, i) => {
      if (cfg.inventory_sync.alerts.endpoints.findIndex((o) => o.name === e.name) !== i) {
        ctx.addIssue({ code: 'custom', path: ['inventory_sync', 'alerts', 'endpoints', i, 'name'], message: `duplicate alert endpoint "${e.name}"` });
      }
    });
    cfg.sources.forEach((s, i) => {
      if (s.type === 'http' && !s.url) ctx.addIssue({ code: 'custom', path: ['sources', i, 'url'], message: 'required for an http source' });
    });
  });

export type Config = z.output<typeof configSchema>;
export type ShopConfig = z.output<typeof shopSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type SafetyBufferConfig = Config['inventory_sync']['safety_buffers'];
export type WorkerConfig = Config['inventory_sync']['worker'];
export type AlertsConfig = Config['inventory_sync']['alerts'];
export const DEFAULT_WORKER_CONFIG: WorkerConfig = worker.parse({});
