import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { demoConfigPath, demoEnvPath } from '../../config/locate.js';
import { assertPortFree } from '../../observability/metrics-server.js';
import { DefaultLogger, NativeConnection } from '@temporalio/worker';
import { resolveAlertEndpoints } from '../../alerts/endpoints.js';
import { installWorkerRuntime } from '../../workers/telemetry.js';
import { startWorkerSideServices } from '../../workers/side-services.js';
import { configSchema, type Config } from '../../config/schema.js';
import { readEnv } from '../../config/env.js';
import { migrate } from '../../db/migrate.js';
import { seedCatalog } from '../../demo/seed-catalog.js';
import { SourceSimulator, type ChangedKeys } from '../../sources/simulator.js';
import { loadConfig } from '../../config/load.js';
import { computeAts } from '../../domain/ats.js';
import { createAppContext } from '../../runtime/context.js';
import { startEmulator } from '../../shopify/emulator/index.js';
import { startDevServer, temporalAnswers } from '../../temporal/dev-server.js';
import { createInventoryWorker } from '../../workers/worker.js';
import { startHttpServer } from '../http/run.js';
import { applySchedules } from '../schedules.js';
import { readComponents } from '../../sources/components.js';
import { createShopifyClients } from '../../runtime/shopify-clients.js';
import { createSources } from '../../runtime/sources.js';
import { skuLocationKey } from '../../domain/sku-location.js';
import { listMappings } from '../../db/mappings.js';

const DEMO_SHOP = { id: 'demo', domain: 'demo-store.myshopify.com' };
const SKUS = ['TEE-RED-M', 'TEE-RED-L', 'HOODIE-GREY-M', 'CAP-BLACK', 'SOCKS-3PACK'];
const LOCATIONS = ['WH-EAST', 'WH-WEST'];

/** The embedded default's configuration, as the YAML the demo writes for the CLI (docs/operations.md). */
const DEMO_CONFIG_INPUT = {
  // Time compressed like the reservations' TTL (5 minutes for 24 h): reconciliation passes over orders younger than
  // 10 s, not 2 minutes, as ones whose webhook may still be on its way.
  inventory_sync: { reservations: { ttl_seconds: 300 }, reconciliation: { missed_order_grace_seconds: 10 } },
  shops: [{ id: DEMO_SHOP.id, domain: DEMO_SHOP.domain, access_token_env: 'DEMO_SHOPIFY_ACCESS_TOKEN', webhook_secret_env: 'DEMO_SHOPIFY_WEBHOOK_SECRET' }],
  sources: [
    { name: 'erp', role: 'erp', type: 'simulator', token_env: 'ERP_EVENTS_TOKEN' },
    { name: 'wms', role: 'wms', type: 'simulator', token_env: 'WMS_EVENTS_TOKEN' },
    { name: 'pos', role: 'pos', type: 'simulator', token_env: 'POS_EVENTS_TOKEN' },
  ],
  // One shop, so every source and channel is bound to it without listing `shops`.
  channels: [{ name: 'marketplace', token_env: 'DEMO_CHANNEL_TOKEN' }],
  operator: { token_env: 'DEMO_OPERATOR_TOKEN' },
};

/** The embedded default: one demo shop on the emulator, simulated ERP/WMS/POS kept in PostgreSQL. */
export function demoConfig(overrides: { missedOrderGraceSeconds?: number } = {}): Config {
  const config = configSchema.parse(DEMO_CONFIG_INPUT);
  if (overrides.missedOrderGraceSeconds !== undefined) config.inventory_sync.reconciliation.missed_order_grace_seconds = overrides.missedOrderGraceSeconds;
  return config;
}

/**
 * Writes the demo's configuration where the CLI looks when INVENTORY_SYNC_CONFIG is unset, so `reconcile`,
 * `reservation status` and `alerts list` in a second terminal see the demo's shop. Names of variables only.
 */
export function writeDemoConfig(dataDir: string): string {
  const path = demoConfigPath({ INVENTORY_SYNC_DATA_DIR: dataDir });
  mkdirSync(dataDir, { recursive: true });
  // Written again once the demo starts its emulator: an earlier run's must not outlive a run that does not.
  rmSync(demoEnvPath({ INVENTORY_SYNC_DATA_DIR: dataDir }), { force: true });
  writeFileSync(path, `# Written by \`npm start\` (the demo) for the CLI in another terminal; rewritten at each start.\n${stringify(DEMO_CONFIG_INPUT)}`);
  return path;
}

/** The demo's own settings the CLI needs to reach its emulator shop (config/locate.ts, DEMO_ENV_FILE). */
function writeDemoEnv(dataDir: string, values: Record<string, string>): void {
  writeFileSync(demoEnvPath({ INVENTORY_SYNC_DATA_DIR: dataDir }), `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
}

/** `missedOrderGraceSeconds`: for a test that runs reconciliation right after an order whose webhook reached nobody. */
export async function runDemo(opts: { durationSeconds?: number; missedOrderGraceSeconds?: number } = {}): Promise<void> {
  const log = (s: string) => process.stdout.write(`${s}\n`);
  // Demo secrets: not secret, but still passed the way production passes them, through the environment.
  const chosenToken = process.env.DEMO_SHOPIFY_ACCESS_TOKEN === undefined;
  process.env.DEMO_SHOPIFY_ACCESS_TOKEN ??= 'demo-access-token';
  process.env.DEMO_SHOPIFY_WEBHOOK_SECRET ??= 'demo-webhook-secret';
  for (const s of ['ERP', 'WMS', 'POS']) process.env[`${s}_EVENTS_TOKEN`] ??= `demo-${s.toLowerCase()}-token`;
  process.env.DEMO_CHANNEL_TOKEN ??= 'demo-channel-token';
  process.env.DEMO_OPERATOR_TOKEN ??= 'demo-operator-token';
  const env = readEnv();
  const config = env.INVENTORY_SYNC_CONFIG ? loadConfig(env.INVENTORY_SYNC_CONFIG) : demoConfig({ missedOrderGraceSeconds: opts.missedOrderGraceSeconds });
  const dataDir = resolve(env.INVENTORY_SYNC_DATA_DIR);
  // Checked before anything starts: a bad alert endpoint or a taken metrics port stops the demo here.
  const endpoints = resolveAlertEndpoints(config.inventory_sync.alerts);
  await assertPortFree(env.METRICS_PORT, 'METRICS_PORT');

  log('inventory-sync demo: bringing up what is missing');
  if (!env.INVENTORY_SYNC_CONFIG) log(`  configuration for the CLI in another terminal: ${writeDemoConfig(dataDir)}`);
  const { applied } = await migrate(env.DATABASE_URL);
  log(`  PostgreSQL ${new URL(env.DATABASE_URL).host}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);

  let stopTemporal: (() => Promise<void>) | undefined;
  let uiUrl = `http://127.0.0.1:${env.DEMO_TEMPORAL_UI_PORT}`;
  const address = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  if (await temporalAnswers(address)) {
    log(`  Temporal: using the server at ${address}`);
  } else {
    await assertPortFree(env.DEMO_TEMPORAL_UI_PORT, 'DEMO_TEMPORAL_UI_PORT', '127.0.0.1');
    const server = await startDevServer({
      port: Number(address.split(':')[1] ?? 7233),
      uiPort: env.DEMO_TEMPORAL_UI_PORT,
      dbFilename: join(dataDir, 'temporal.db'),
      logFile: join(dataDir, 'temporal.log'),
      log: (l) => log(`  ${l}`),
    });
    uiUrl = server.uiUrl ?? uiUrl;
    stopTemporal = server.stop;
  }
  process.env.TEMPORAL_ADDRESS = address;

  let emulatorUrl = env.SHOPIFY_API_BASE_URL;
  let closeEmulator: (() => Promise<void>) | undefined;
  let placeDemoOrder: (() => void) | undefined;
  const port = env.PORT;
  const ctxEnv = { ...readEnv(), TEMPORAL_ADDRESS: address };
  if (!emulatorUrl) {
    if (env.DEMO_EMULATOR_PORT !== 0) await assertPortFree(env.DEMO_EMULATOR_PORT, 'DEMO_EMULATOR_PORT', '127.0.0.1');
    const emu = await startEmulator({ port: env.DEMO_EMULATOR_PORT, logger: false });
    emulatorUrl = emu.url;
    closeEmulator = emu.close;
    ctxEnv.SHOPIFY_API_BASE_URL = emulatorUrl;
    if (!env.INVENTORY_SYNC_CONFIG) writeDemoEnv(dataDir, { SHOPIFY_API_BASE_URL: emulatorUrl, ...(chosenToken ? { DEMO_SHOPIFY_ACCESS_TOKEN: process.env.DEMO_SHOPIFY_ACCESS_TOKEN } : {}) });
    const ctxForSeed = await createAppContext({ env: ctxEnv, config });
    await seedCatalog(emu.emulator, ctxForSeed.db, {
      shopId: DEMO_SHOP.id,
      domain: DEMO_SHOP.domain,
      accessToken: process.env.DEMO_SHOPIFY_ACCESS_TOKEN,
      webhookUrl: `http://127.0.0.1:${port}/webhooks/shopify`,
      webhookSecret: process.env.DEMO_SHOPIFY_WEBHOOK_SECRET,
      locations: LOCATIONS,
      skus: SKUS,
      initialAvailable: () => 50,
    });
    await ctxForSeed.close();
    // Shoppers: now and then an order on the storefront; Shopify commits its units and sends signed webhooks.
    let orders = 0;
    placeDemoOrder = () => {
      const sku = SKUS[orders % SKUS.length]!;
      const quantity = 1 + (orders % 2);
      orders++;
      try {
        const order = emu.emulator.placeOrder(DEMO_SHOP.domain, { lines: [{ sku, quantity }] });
        log(`shopper: order ${order.id.split('/').pop()} for ${quantity} x ${sku} (watch reservation:${DEMO_SHOP.id}:${order.id.split('/').pop()} in the Web UI)`);
        if (orders % 4 === 0) {
          emu.emulator.cancelOrder(DEMO_SHOP.domain, order.id);
          log(`shopper: order ${order.id.split('/').pop()} cancelled`);
        }
      } catch (err) {
        log(`shopper: order refused: ${(err as Error).message}`);
      }
    };
    log(`  Shopify emulator: ${emulatorUrl} (shop ${DEMO_SHOP.domain}, ${SKUS.length} SKUs x ${LOCATIONS.length} locations)`);
  }

  // The demo's own table tells the story; the worker and server log warnings and errors only.
  // The demo's stop() owns SIGINT/SIGTERM: with the SDK's own handlers too, the worker was already draining when
  // stop() asked it to shut down, the error skipped the wait for it, and Temporal was stopped under a draining
  // worker, which then never finished (the process stayed up after SIGTERM).
  const { temporalMetricsUrl } = await installWorkerRuntime({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  ctxEnv.LOG_LEVEL = env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL;
  const ctx = await createAppContext({ env: ctxEnv, config });
  const side = await startWorkerSideServices(ctx, endpoints, temporalMetricsUrl);
  const connection = await NativeConnection.connect({ address });
  const worker = await createInventoryWorker({ connection, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, activities: ctx.activities, capacity: config.inventory_sync.worker });
  const workerRun = worker.run();
  const http = await startHttpServer(ctx, port);
  log(`  worker on task queue "${env.TEMPORAL_TASK_QUEUE}" (metrics ${side.metrics.url}); HTTP server ${http.url} (GET /healthz, /metrics)`);
  for (const r of await applySchedules(ctx.temporal, config, env.TEMPORAL_TASK_QUEUE)) log(`  schedule ${r.outcome}: ${r.scheduleId} (${r.describe})`);
  log(`\nTemporal Web UI: ${uiUrl}   (workflows: refresh:${DEMO_SHOP.id}, reservation:...)`);
  log(`Operator console: ${http.adminUrl ?? http.url}/console/   (sign in with the operator token: $${config.operator?.token_env ?? 'DEMO_OPERATOR_TOKEN'})\n`);

  // The simulated ERP/WMS/POS: receipts, picks, till sales and shipments arrive as source changes through the
  // same durable path as POST /sources/:source/events; each batch marks its keys dirty.
  const simulator = new SourceSimulator({ db: ctx.db, seed: 20261130, shops: [{ shopId: DEMO_SHOP.id, skus: SKUS, locations: LOCATIONS }], sources: { erp: 'erp', wms: 'wms', pos: 'pos' } });
  const handOn = async (changed: ChangedKeys) => {
    for (const [shopId, keys] of changed) await ctx.activities.markDirty({ shopId, keys, trigger: 'source_event' });
  };
  await handOn(await simulator.open());
  const tick = async () => handOn(await simulator.tick(3));
  const allKeys = SKUS.flatMap((sku) => LOCATIONS.map((locationId) => ({ sku, locationId })));

  const sources = createSources(config, ctx.db);
  const shopify = createShopifyClients(config, emulatorUrl ? { baseUrl: emulatorUrl } : {})(DEMO_SHOP.id);
  const table = async () => {
    const components = await readComponents({ db: ctx.db, config, sources }, DEMO_SHOP.id, allKeys);
    const rows = await listMappings(ctx.db, DEMO_SHOP.id);
    const levels = await shopify.readLevels(rows.map((r) => ({ inventoryItemId: r.inventory_item_id, locationId: r.shopify_location_id })), ['available']);
    log(`${new Date().toISOString().slice(11, 19)}  sku/location            erp  wms  pos claims buf   ATS  shopify`);
    for (const r of rows.sort((a, b) => skuLocationKey({ sku: a.sku, locationId: a.location_id }).localeCompare(skuLocationKey({ sku: b.sku, locationId: b.location_id })))) {
      const c = components.get(skuLocationKey({ sku: r.sku, locationId: r.location_id }));
      if (!c || c.status !== 'ok') continue;
      const x = c.components;
      const available = levels.get(`${r.inventory_item_id}|${r.shopify_location_id}`)?.available;
      const ats = computeAts(x);
      log(`          ${`${r.sku}/${r.location_id}`.padEnd(24)}${String(x.erpOnHand).padStart(4)} ${String(x.wmsAllocated).padStart(4)} ${String(x.posPending).padStart(4)} ${String(x.openClaims).padStart(6)} ${String(x.safetyBuffer).padStart(3)} ${String(ats).padStart(5)} ${String(available ?? '?').padStart(8)}${available === ats ? '' : '  (syncing)'}`);
    }
  };

  let stopping = false;
  const ticker = setInterval(() => void tick().catch((e: unknown) => log(`simulator: ${(e as Error).message}`)), 2000);
  const shopper = placeDemoOrder ? setInterval(placeDemoOrder, 7000) : undefined;
  const printer = setInterval(() => void table().catch((e: unknown) => log(`table: ${(e as Error).message}`)), 10_000);
  setTimeout(() => void table().catch(() => undefined), 3000);

  const step = async (what: string, work: () => Promise<unknown>) => {
    // Each part gets a bounded time: a demo that will not stop is worse than one that stops untidily.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve(log(`  ${what}: still stopping after 10 s, moving on`)), 10_000)));
    await Promise.race([work().catch((e: unknown) => log(`  ${what}: ${(e as Error).message}`)), timeout]);
    clearTimeout(timer);
  };
  const stop = async () => {
    if (stopping) {
      log('stopping now');
      process.exit(1);
    }
    stopping = true;
    clearInterval(ticker);
    clearInterval(printer);
    clearInterval(shopper);
    log('\nstopping: emulator, HTTP server, worker, Temporal (Ctrl-C again to stop at once)');
    await step('emulator', async () => closeEmulator?.());
    await step('HTTP server', () => http.app.close());
    await step('worker', async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    });
    await step('connections', async () => {
      await side.close();
      await connection.close();
      await ctx.close();
    });
    await step('Temporal', async () => stopTemporal?.());
    resolveStopped();
  };
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (opts.durationSeconds) setTimeout(() => void stop(), opts.durationSeconds * 1000);
  await stopped;
}
