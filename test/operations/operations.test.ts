import { msToTs } from '@temporalio/common/lib/time.js';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { buildCli, runCli, type CliChild } from './cli-child.js';

interface Received {
  path: string;
  alertId: string;
  body: Record<string, unknown>;
  answered: number;
}

/**
 * What an operator runs and sees, end to end: `inventory-sync worker` (its /metrics port, its alert delivery),
 * `reconcile` with progress, `alerts list`, and the start-up errors for a bad alert endpoint or a taken port.
 * Everything runs as child processes against the run's Temporal, PostgreSQL and Redis, and the emulator.
 */
describe('operations: worker metrics, alerts, progress', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let catalog: SeededCatalog;
  let cli: { file: string; dir: string };
  let worker: CliChild;
  let metricsUrl: string;
  let receiver: Server;
  const received: Received[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'isync-ops-'));
  const shopId = `ops-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const skus = Array.from({ length: 300 }, (_, i) => `OPS-${String(i).padStart(3, '0')}`);
  let env: Record<string, string>;

  const configFile = join(dir, 'inventory-sync.yaml');
  const writeConfig = (alerts: Record<string, unknown>) =>
    writeFileSync(
      configFile,
      stringify({
        inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, reconciliation: { discrepancy_threshold: 5, export_chunk_lines: 300, export_slice_seconds: 0 }, alerts },
        shops: [{ id: shopId, domain, plan: 'plus', access_token_env: 'OPS_TOKEN', webhook_secret_env: 'OPS_SECRET' }],
        sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres' }],
      }),
    );

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: 'tok-ops', plan: 'plus', locations: ['WH1', 'WH2'], skus, initialAvailable: () => 20 });
    const at = new Date().toISOString();
    await recordSourceChanges(svc.db, `${shopId}-erp`, skus.flatMap((sku) => ['WH1', 'WH2'].map((locationId) => ({ shopId, sku, locationId, quantity: 20, occurredAt: at }))));

    // The receiver fails each alert's first two deliveries to /json with 503, then accepts it.
    receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const alertId = String(req.headers['x-inventory-sync-alert-id']);
        const path = req.url ?? '';
        const before = received.filter((r) => r.path === path && r.alertId === alertId).length;
        const answered = path === '/json' && before < 2 ? 503 : 200;
        received.push({ path, alertId, body: JSON.parse(text) as Record<string, unknown>, answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const port = (receiver.address() as { port: number }).port;
    writeConfig({
      poll_interval_ms: 200,
      retry_initial_ms: 200,
      retry_max_ms: 400,
      endpoints: [
        { name: 'ops-json', format: 'json', url: `http://127.0.0.1:${port}/json`, kinds: ['drift'] },
        { name: 'ops-slack', format: 'slack', url_env: 'OPS_SLACK_URL', kinds: ['drift'] },
      ],
    });

    cli = await buildCli();
    env = {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: `${svc.redisPrefix}ops:`,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `${svc.taskQueue}-ops`,
      INVENTORY_SYNC_CONFIG: configFile,
      SHOPIFY_API_BASE_URL: emu.url,
      OPS_TOKEN: 'tok-ops',
      OPS_SECRET: 'secret',
      OPS_SLACK_URL: `http://127.0.0.1:${port}/slack`,
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    worker = runCli(cli.file, ['worker'], env);
    metricsUrl = (await worker.printed(/worker metrics on (http:[^\s;]+)/))[1]!;
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await Promise.race([worker?.exited, new Promise((r) => setTimeout(r, 15_000))]);
    worker?.child.kill('SIGKILL');
    receiver?.close();
    await emu?.close();
    await svc?.close();
    rmSync(cli?.dir ?? '/nonexistent', { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async () => (await fetch(metricsUrl)).text();
  const value = (text: string, name: string, labels: Record<string, string>) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('reconcile shows progress as plain lines when not a TTY, and the worker counts its Shopify calls, writes and drift', async () => {
    const ids = catalog.ids.get('OPS-010|WH1')!;
    emu.emulator.setQuantities(domain, ids.inventoryItemId, ids.locationId, { available: 31 }); // +11: corrected and alerted
    // One more drift in each of the export's other chunks (300 lines: 100 items and their 200 levels), under the
    // threshold: each chunk writes to Shopify once.
    for (const sku of ['OPS-110', 'OPS-210']) {
      const other = catalog.ids.get(`${sku}|WH1`)!;
      emu.emulator.setQuantities(domain, other.inventoryItemId, other.locationId, { available: 21 });
    }
    // Each Shopify call takes 600 ms, so the progress query sees every chunk; the first call fails once (retried).
    emu.emulator.setFaults(domain, { latencyMs: 600 });
    emu.emulator.failNextRequests(domain, 1, { status: 503 });
    const run = runCli(cli.file, ['reconcile', '--shop', shopId], env);
    expect(await run.exited).toBe(0);
    emu.emulator.setFaults(domain, {});
    const out = run.stdout();
    expect(out).toContain(`reconcile ${shopId}: 0/600 (0%) looking for orders whose webhooks were lost`);
    expect(out).toMatch(new RegExp(`reconcile ${shopId}: 200/600 \\(33%\\) 1 drifted, 1 corrected, export line 300 of 900, ETA \\d+s`));
    expect(out).toMatch(new RegExp(`reconcile ${shopId}: 400/600 \\(66%\\) 2 drifted, 2 corrected, export line 600 of 900`));
    expect(out).toContain(`reconcile ${shopId}: 600/600 (100%) 3 drifted, 3 corrected`);
    expect(out).toMatch(new RegExp(`${shopId}: run \\d+, 600 key\\(s\\) checked, 3 drifted, 3 corrected, 1 alert\\(s\\), 0 bad export line\\(s\\), 0 mapping\\(s\\) Shopify no longer lists`));
    expect(out).not.toContain('\u001b['); // no cursor movement in a pipe
    expect(emu.emulator.getLevel(domain, ids.inventoryItemId, ids.locationId).available).toBe(20);

    const text = await scrape();
    expect(value(text, 'isync_shopify_calls_total', { shop: domain, operation: 'readLevels', status: '200' })).toBeGreaterThanOrEqual(3);
    expect(value(text, 'isync_shopify_calls_total', { shop: domain, status: '503' })).toBe(1);
    expect(value(text, 'isync_shopify_faults_total', { shop: domain, kind: 'retry' })).toBe(1);
    expect(value(text, 'isync_shopify_cost_points_total', { shop: domain, operation: 'readLevels' })).toBeGreaterThan(0);
    expect(value(text, 'isync_shopify_calls_total', { shop: domain, operation: 'inventorySetQuantities', status: '200' })).toBe(3);
    expect(value(text, 'isync_writes_total', { shop: shopId, outcome: 'applied' })).toBe(3);
    expect(value(text, 'isync_reconcile_keys_total', { shop: shopId, result: 'checked' })).toBe(600);
    expect(value(text, 'isync_reconcile_keys_total', { shop: shopId, result: 'corrected' })).toBe(3);
    expect(value(text, 'isync_drift_units_total', { shop: shopId })).toBe(13);
    expect(text).toMatch(/^isync_guard_keys \d+/m);
    expect(text).toMatch(/^isync_webhook_outbox_pending \d+/m);
    // The Temporal SDK's own metrics, from the runtime's exporter, on the same port.
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
  }, 120_000);

  it('sync --full shows its progress against what the source held last time', async () => {
    const run = runCli(cli.file, ['sync', '--source', `${shopId}-erp`, '--full'], env);
    expect(await run.exited, run.stderr()).toBe(0);
    const out = run.stdout();
    expect(out).toContain(`sync ${shopId}-erp: 0/600 (0%) read`);
    expect(out).toMatch(new RegExp(`sync ${shopId}-erp: 600/600 \\(100%\\) read, 0 key\\(s\\) handed to refresh`));
    expect(out).toMatch(new RegExp(`${shopId}-erp \\(full\\): \\d+ batch\\(es\\), 600 read, 0 key\\(s\\) handed to refresh`));
  }, 60_000);

  it('delivers the drift alert to both endpoints once, retrying the one that fails at first; alerts list shows it', async () => {
    const mine = () => received.filter((r) => (r.body.shopId ?? '') === shopId || JSON.stringify(r.body).includes(shopId));
    await expect.poll(() => mine().filter((r) => r.answered === 200).length, { timeout: 20_000 }).toBe(2);
    const json = mine().filter((r) => r.path === '/json');
    expect(json.map((r) => r.answered)).toEqual([503, 503, 200]);
    expect(new Set(json.map((r) => r.alertId)).size).toBe(1);
    expect(json[2]!.body).toMatchObject({ kind: 'drift', shopId, subject: 'OPS-010|WH1', details: { shopify: 31, ats: 20, drift: 11 } });
    const slack = mine().filter((r) => r.path === '/slack');
    expect(slack).toHaveLength(1);
    expect(slack[0]!.body.text).toMatch(/drift over the threshold: shop ops-.*OPS-010\|WH1 .*drift=11/);
    expect(slack[0]!.body.blocks).toBeInstanceOf(Array);

    // Delivered means delivered: a few more dispatcher passes send nothing again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(mine()).toHaveLength(4);

    const list = runCli(cli.file, ['alerts', 'list', '--shop', shopId], env);
    expect(await list.exited).toBe(0);
    expect(list.stdout()).toMatch(/drift\s+ops-\S+\s+OPS-010\|WH1\s+ops-json: delivered \(3 attempts\), ops-slack: delivered \(1 attempt\)/);
    const since = runCli(cli.file, ['alerts', 'list', '--since', '2h', '--json'], env);
    expect(await since.exited).toBe(0);
    expect((JSON.parse(since.stdout()) as { shopId: string }[]).some((a) => a.shopId === shopId)).toBe(true);
    const bad = runCli(cli.file, ['alerts', 'list', '--since', 'yesterday'], env);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toContain('ISYNC_ARGUMENT_INVALID: --since: expected a time such as 2026-11-30T12:00:00Z or a duration such as 15m, 2h, 7d; got "yesterday"');

    const text = await scrape();
    expect(value(text, 'isync_alert_deliveries_total', { endpoint: 'ops-json', outcome: 'retry' })).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('a taken metrics or HTTP port, a namespace not ready and an alert endpoint that is not a URL are clear errors at start', async () => {
    const taken = createNetServer();
    await new Promise<void>((r) => taken.listen(0, '0.0.0.0', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const second = runCli(cli.file, ['worker'], { ...env, METRICS_PORT: String(port) });
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toContain(`ISYNC_PORT_IN_USE: METRICS_PORT ${port} is already in use`);
      expect(second.stdout()).not.toContain('worker polling');
      // The HTTP server the same way, naming PORT (it answered ISYNC_INTERNAL with Node's EADDRINUSE before).
      const server = runCli(cli.file, ['server'], { ...env, PORT: String(port) });
      expect(await server.exited).toBe(1);
      expect(server.stderr()).toContain(`ISYNC_PORT_IN_USE: PORT ${port} is already in use`);
    } finally {
      taken.close();
    }

    // A namespace that does not exist, and one without our search attributes: the worker would start, and every
    // workflow task fail with BadSearchAttributes in its log.
    const absent = `ops-absent-${Date.now().toString(36)}`;
    const noNamespace = runCli(cli.file, ['worker'], { ...env, TEMPORAL_NAMESPACE: absent });
    expect(await noNamespace.exited).toBe(1);
    expect(noNamespace.stderr()).toContain(`ISYNC_CONFIG_INVALID: TEMPORAL_NAMESPACE: the namespace "${absent}" does not exist on the Temporal server at ${env.TEMPORAL_ADDRESS}; create it once: temporal operator namespace create --namespace ${absent}`);
    const bare = `ops-bare-${Date.now().toString(36)}`;
    await svc.temporal.connection.workflowService.registerNamespace({ namespace: bare, workflowExecutionRetentionPeriod: msToTs('1 day') });
    // A namespace just registered may take the server's namespace cache a moment to serve.
    await expect.poll(async () => (await svc.temporal.connection.workflowService.describeNamespace({ namespace: bare }).then(() => true, () => false)), { timeout: 15_000 }).toBe(true);
    const unprepared = runCli(cli.file, ['worker'], { ...env, TEMPORAL_NAMESPACE: bare });
    expect(await unprepared.exited).toBe(1);
    expect(unprepared.stderr()).toContain(`the namespace "${bare}" lacks the search attributes the workflows set (ShopId Keyword, OrderId Keyword, Sku KeywordList, ReservationState Keyword, Source Keyword); register them once: temporal operator search-attribute create --namespace ${bare} --address ${env.TEMPORAL_ADDRESS} --name ShopId --name OrderId --name ReservationState --name Source --type Keyword && temporal operator search-attribute create --namespace ${bare} --address ${env.TEMPORAL_ADDRESS} --name Sku --type KeywordList`);
    expect(unprepared.stdout()).not.toContain('worker polling');

    const badEnv = runCli(cli.file, ['worker'], { ...env, OPS_SLACK_URL: 'hooks.slack.com/services/T0/B0/xyz' });
    expect(await badEnv.exited).toBe(1);
    expect(badEnv.stderr()).toContain('ISYNC_CONFIG_INVALID: inventory_sync.alerts.endpoints.1.url_env: OPS_SLACK_URL is not an http(s) URL (alert endpoint "ops-slack")');
    expect(badEnv.stderr()).not.toContain('xyz'); // the value may be a secret

    const badFile = join(dir, 'bad-alerts.yaml');
    writeFileSync(badFile, readFileSync(configFile, 'utf8').replace(/url: http:\/\/127\.0\.0\.1:\d+\/json/, 'url: not-a-url'));
    const badUrl = runCli(cli.file, ['worker'], { ...env, INVENTORY_SYNC_CONFIG: badFile });
    expect(await badUrl.exited).toBe(1);
    expect(badUrl.stderr()).toContain('inventory_sync.alerts.endpoints.0.url: expected an http(s) URL such as https://alerts.example.com/inventory-sync');
  }, 60_000);

  // After the tests above: the SDK exports a workflow or activity metric only once the worker has run one.
  it('every metric the Grafana dashboard names is exported by the worker or the HTTP server', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/dashboards/inventory-sync.json', import.meta.url), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const named = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => t.expr.match(/\b(?:isync|temporal)_[a-z0-9_]+/g) ?? [])));
    expect(named.size).toBeGreaterThan(20);
    const exported = `${await scrape()}\n${await createMetrics().registry.metrics()}`;
    const isExported = (name: string) => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return new RegExp(`^${name}[{ ]`, 'm').test(exported) || exported.includes(`# TYPE ${name} `) || (base !== name && exported.includes(`# TYPE ${base} histogram`));
    };
    expect([...named].filter((n) => !isExported(n))).toEqual([]);
  });
});
