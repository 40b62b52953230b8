import { z } from 'zod';

/**
 * The YAML configuration (INVENTORY_SYNC_CONFIG). Its `inventory_sync` block keeps the keys and defaults of the
 * earlier prototype's configuration template (docs/design.md); `shops` and `sources` are ours. Secrets never live in the file: it names environment variables.
 */
const positiveInt = (what: string) =>
  z.number({ error: `expected a positive number (${what})` }).int('expected a whole number').positive('expected a positive number');
const nonNegative = z.number({ error: 'expected a number >= 0' }).min(0, 'expected a number >= 0');
const positive = z.number({ error: 'expected a positive number' }).positive('expected a positive number');
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as SHOPIFY_TOKEN');
const CRON = /^(\S+\s+){4}\S+$/;

const aggregation = z.strictObject({
  /** How long GET /ats may serve a computed ATS again (src/reads/ats-reader.ts); 0: never. Never used to write Shopify. */
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

/** The HTTP server's limits and where reads are served (docs/security.md). */
const http = z.strictObject({
  /** Reads (/reservations, /metrics, /explain, the console) move to this port, off the public one; bind it to a private interface. */
  admin_port: z.number().int().min(0).max(65535).optional(),
  admin_host: z.string().min(1).default('127.0.0.1'),
  /** A request must arrive whole within this (slow senders are cut off with 408). */
  request_timeout_ms: positiveInt('milliseconds').default(30_000),
  /** An idle connection is closed after this. */
  connection_timeout_ms: positiveInt('milliseconds').default(60_000),
  /** Per token (per address for requests without a valid one); Shopify's webhooks are not limited. */
  rate_limit: z
    .strictObject({
      max_requests: positiveInt('requests').default(1200),
      window_ms: positiveInt('milliseconds').default(60_000),
    })
    .prefault({}),
});

const sourceEvents = z.strictObject({
  /** An event dated further than this ahead of our clock is refused (400): it would outrank every true reading. */
  max_clock_skew_seconds: nonNegative.default(300),
});

const reconciliation = z.strictObject({
  schedule: z.string().regex(CRON, 'expected a 5-field cron expression such as "0 2 * * *"').default('0 2 * * *'),
  discrepancy_threshold: nonNegative.default(5),
  alert_on_breach: z.boolean().default(true),
  /** Keys per page (one Shopify read and at most one guarded write each); Shopify takes at most 250 per call. */
  page_size: z.number().int().min(1).max(250, 'expected at most 250 (Shopify takes 250 items per call)').default(250),
  /** Lines of the bulk export per chunk: one mapping lookup, one component read and one checkpoint each. */
  export_chunk_lines: z.number().int().min(1).max(50_000, 'expected at most 50000 (a chunk is held in memory)').default(5_000),
  /** A run reports progress to its workflow (and the CLI) after about this many seconds of the export. */
  export_slice_seconds: nonNegative.max(300, 'expected at most 300').default(5),
  /**
   * The missed-order step passes over orders updated more recently than this: their webhook may still be on its
   * way (Shopify retries; a backlog after a sale delays it). The next run takes them if it never came.
   */
  missed_order_grace_seconds: nonNegative.max(86_400, 'expected at most 86400 (one day)').default(120),
});

/** How long rows that only grow are kept (docs/operations.md, "Retention"); the `housekeeping` Schedule deletes the rest. */
const retentionDays = (what: string, days: number) => z.number({ error: 'expected a number of days' }).int('expected whole days').min(1, `expected at least 1 day of ${what}`).max(3650, 'expected at most 3650 days').default(days);
const retention = z.strictObject({
  schedule: z.string().regex(CRON, 'expected a 5-field cron expression such as "30 3 * * *"').default('30 3 * * *'),
  /** Every source event as received (the readings themselves stay in source_snapshots). */
  source_changes_days: retentionDays('source changes', 30),
  /** Every write, skip and refusal (explain's "last writes"). */
  audit_log_days: retentionDays('audit rows', 90),
  /** Shopify webhook deliveries (the dedupe on X-Shopify-Webhook-Id; Shopify retries for 4 hours). */
  webhook_deliveries_days: retentionDays('webhook deliveries', 14),
  /** A source's reading of a SKU-location no mapping names. */
  unmapped_snapshots_days: retentionDays('unmapped readings', 30),
  /** Alerts and their deliveries (`alerts list`); each is raised once per kind, shop and subject while kept. */
  alerts_days: retentionDays('alerts', 180),
  /** A WMS confirmation of an order that never came (each order is alerted once, after reservations.ttl). */
  confirmations_without_order_days: retentionDays('confirmations of orders that never came', 30),
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

const shopIds = z.array(z.string().min(1), { error: 'expected a list of shop ids' }).min(1, 'expected at least one shop id');

/** `type: sql`: the merchant's own database (docs/sources.md, docs/onboarding.md). */
const sqlSourceFields = {
  /** `mysql` covers MariaDB. */
  dialect: z.enum(['postgres', 'mysql', 'mariadb'], { error: 'expected one of postgres, mysql, mariadb' }).optional(),
  /** The environment variable holding the connection string (postgres://… or mysql://…). */
  connection_env: envName.optional(),
  /** Returns `sku, location, quantity, updated_at` (and `shop` unless `shop` is set); no parameters of its own. */
  query: z.string().min(1, 'expected a SELECT').refine((q) => !/;\s*\S/.test(q), 'expected a single SELECT statement').optional(),
  /** The shop all rows belong to; omit when the query returns a `shop` column. */
  shop: z.string().optional(),
  /** A new delta run re-reads this far behind its watermark (rows committed late); default 300. */
  lookback_seconds: nonNegative.optional(),
  /** postgres only: the query returns `txid` (xid8) and the feed is read in commit order (no lookback needed). */
  commit_order: z.boolean().optional(),
};

export const sourceSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a name of lowercase letters, digits, _ and -'),
  /** Which ATS component this source supplies. */
  role: z.enum(['erp', 'wms', 'pos'], { error: 'expected one of erp, wms, pos' }),
  type: z.enum(['postgres', 'http', 'simulator', 'sql'], { error: 'expected one of postgres, http, simulator, sql' }),
  /** `delta` sources have a change feed; `full` ones (a legacy ERP; docs/design.md) are re-read whole each run. */
  mode: z.enum(['delta', 'full']).default('delta'),
  /** Shared secret that `POST /sources/:source/events` must present as a bearer token. */
  token_env: envName.optional(),
  url: z.url({ error: 'expected an http(s) URL' }).optional(),
  interval_minutes: positive.optional(),
  /** http sources: the bearer token we present to the source's own API (docs/sources.md). */
  pull_token_env: envName.optional(),
  /** http sources: bound on change-feed and snapshot requests (component reads use parallel_fetch_timeout_ms). */
  request_timeout_ms: positiveInt('milliseconds').optional(),
  /** http sources: a reply larger than this is refused (default 16 MiB). */
  max_reply_bytes: positiveInt('bytes').optional(),
  /** The shops this source may report for (events, allocations, sync rows). Required when several shops are configured. */
  shops: shopIds.optional(),
  ...sqlSourceFields,
}).superRefine(
  (s, ctx) => {
    const required = (key: string, why: string) => ctx.addIssue({ code: 'custom', path: [key], message: `required for ${why}` });
    if (s.type === 'http' && !s.url) required('url', 'an http source');
    if (s.type === 'sql') {
      if (!s.dialect) required('dialect', 'a sql source (postgres or mysql)');
      if (!s.connection_env) required('connection_env', 'a sql source');
      if (!s.query) required('query', 'a sql source');
      if (s.commit_order && s.dialect !== 'postgres') ctx.addIssue({ code: 'custom', path: ['commit_order'], message: 'only for dialect: postgres (MySQL and MariaDB have no commit-order snapshot)' });
    }
  },
  // Also when other fields of the source are wrong: every problem shows in one `config check`.
  { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
);

/** An order channel Shopify does not count (a marketplace, an OMS): it may POST /orders for its shops only. */
export const channelSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'expected a name of at most 40 lowercase letters, digits, _ and -'),
  token_env: envName,
  shops: shopIds.optional(),
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
        http: http.prefault({}),
        source_events: sourceEvents.prefault({}),
        alerts: alerts.prefault({}),
        retention: retention.prefault({}),
      })
      .prefault({}),
    shops: z.array(shopSchema).default([]),
    sources: z.array(sourceSchema).default([]),
    channels: z.array(channelSchema).default([]),
    /** The token for reads (GET /reservations, /metrics, /ats, /explain, the console) on the public port. */
    operator: z.strictObject({ token_env: envName }).optional(),
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
    seen(cfg.channels.map((c) => ({ key: c.name })), 'channels', 'channel name');
    cfg.inventory_sync.alerts.endpoints.forEach((e, i) => {
      if (cfg.inventory_sync.alerts.endpoints.findIndex((o) => o.name === e.name) !== i) {
        ctx.addIssue({ code: 'custom', path: ['inventory_sync', 'alerts', 'endpoints', i, 'name'], message: `duplicate alert endpoint "${e.name}"` });
      }
    });
    cfg.sources.forEach((s, i) => {
      if (s.shop !== undefined && !cfg.shops.some((shop) => shop.id === s.shop)) {
        ctx.addIssue({ code: 'custom', path: ['sources', i, 'shop'], message: `"${s.shop}" is not one of shops[].id` });
      }
    });
    // Every token names one caller: a token shared by two would act with the rights of either.
    const tokens = new Map<string, string>();
    const principals: { path: (string | number)[]; token: string | undefined; shops: string[] | undefined; what: string }[] = [
      ...cfg.sources.map((s, i) => ({ path: ['sources', i], token: s.token_env, shops: s.shops, what: `source "${s.name}"` })),
      ...cfg.channels.map((c, i) => ({ path: ['channels', i], token: c.token_env, shops: c.shops, what: `channel "${c.name}"` })),
      ...(cfg.operator ? [{ path: ['operator'], token: cfg.operator.token_env, shops: undefined, what: 'the operator' }] : []),
    ];
    const shopIdSet = new Set(cfg.shops.map((s) => s.id));
    for (const p of principals) {
      if (p.token !== undefined) {
        const other = tokens.get(p.token);
        if (other) ctx.addIssue({ code: 'custom', path: [...p.path, 'token_env'], message: `${p.token} is also the token of ${other}; each source, channel and the operator need a token of their own` });
        else tokens.set(p.token, p.what);
      }
      if (p.path[0] === 'operator') continue;
      if (p.shops === undefined && cfg.shops.length > 1) {
        ctx.addIssue({ code: 'custom', path: [...p.path, 'shops'], message: `required when several shops are configured: list the ids of the shops ${p.what} serves` });
      }
      p.shops?.forEach((id, j) => {
        if (!shopIdSet.has(id)) ctx.addIssue({ code: 'custom', path: [...p.path, 'shops', j], message: `shop "${id}" is not configured` });
      });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ShopConfig = z.output<typeof shopSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
export type HttpConfig = Config['inventory_sync']['http'];

/**
 * The shops a source or channel may act for: its `shops`, or the only configured shop when it names none
 * (the schema refuses a missing list when there are several).
 */
export function boundShops(config: Pick<Config, 'shops'>, p: { shops?: string[] | undefined }): string[] {
  if (p.shops) return p.shops;
  return config.shops.length === 1 ? [config.shops[0]!.id] : [];
}

export type WorkerConfig = Config['inventory_sync']['worker'];
export type AlertsConfig = Config['inventory_sync']['alerts'];
export const DEFAULT_WORKER_CONFIG: WorkerConfig = worker.parse({});
