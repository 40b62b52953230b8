import { join, resolve } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { configSchema, type Config } from '../../config/schema.js';
import { readEnv } from '../../config/env.js';
import { migrate } from '../../db/migrate.js';
import { recordSourceChanges } from '../../db/source-changes.js';
import { seedCatalog } from '../../demo/seed-catalog.js';
import { loadConfig } from '../../config/load.js';
import { computeAts } from '../../domain/ats.js';
import { createAppContext } from '../../runtime/context.js';
import { startEmulator } from '../../shopify/emulator/index.js';
import { startDevServer, temporalAnswers } from '../../temporal/dev-server.js';
import { createInventoryWorker } from '../../workers/worker.js';
import { startHttpServer } from '../http/run.js';
import { applySchedules } from '../schedules.js';
import { readComponents } from '../../activities/ats-components.js';
import { createShopifyClients } from '../../runtime/shopify-clients.js';
import { createSources } from '../../runtime/sources.js';

const DEMO_SHOP = { id: 'demo', domain: 'demo-store.myshopify.com' };
const SKUS = ['TEE-RED-M', 'TEE-RED-L', 'HOODIE-GREY-M', 'CAP-BLACK', 'SOCKS-3PACK'];
const LOCATIONS = ['WH-EAST', 'WH-WEST'];

/** The embedded default: one demo shop on the emulator, simulated ERP/WMS/POS kept in PostgreSQL. */
export function demoConfig(): Config {
  return configSchema.parse({
    inventory_sync: { reservations: { ttl_seconds: 300 } },
    shops: [{ id: DEMO_SHOP.id, domain: DEMO_SHOP.domain, access_token_env: 'DEMO_SHOPIFY_ACCESS_TOKEN', webhook_secret_env: 'DEMO_SHOPIFY_WEBHOOK_SECRET' }],
    sources: [
      { name: 'erp', role: 'erp', type: 'simulator', token_env: 'ERP_EVENTS_TOKEN' },
      { name: 'wms', role: 'wms', type: 'simulator', token_env: 'WMS_EVENTS_TOKEN' },
      { name: 'pos', role: 'pos', type: 'simulator', token_env: 'POS_EVENTS_TOKEN' },
    ],
  });
}

/** A small deterministic PRNG so two demo runs tell the same story. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runDemo(opts: { durationSeconds?: number } = {}): Promise<void> {
  const log = (s: string) => process.stdout.write(`${s}\n`);
  // Demo secrets: not secret, but still passed the way production passes them, through the environment.
  process.env.DEMO_SHOPIFY_ACCESS_TOKEN ??= 'demo-access-token';
  process.env.DEMO_SHOPIFY_WEBHOOK_SECRET ??= 'demo-webhook-secret';
  for (const s of ['ERP', 'WMS', 'POS']) process.env[`${s}_EVENTS_TOKEN`] ??= `demo-${s.toLowerCase()}-token`;
  const env = readEnv();
  const config = env.INVENTORY_SYNC_CONFIG ? loadConfig(env.INVENTORY_SYNC_CONFIG) : demoConfig();
  const dataDir = resolve(env.INVENTORY_SYNC_DATA_DIR);

  log('inventory-sync demo: bringing up what is missing');
  const { applied } = await migrate(env.DATABASE_URL);
  log(`  PostgreSQL ${new URL(env.DATABASE_URL).host}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);

  let stopTemporal: (() => Promise<void>) | undefined;
  let uiUrl = 'http://127.0.0.1:8233';
  const address = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  if (await temporalAnswers(address)) {
    log(`  Temporal: using the server at ${address}`);
  } else {
    const server = await startDevServer({
      port: Number(address.split(':')[1] ?? 7233),
      uiPort: 8233,
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
  const port = env.PORT;
  const ctxEnv = { ...readEnv(), TEMPORAL_ADDRESS: address };
  if (!emulatorUrl) {
    const emu = await startEmulator({ port: 8090, logger: false });
    emulatorUrl = emu.url;
    closeEmulator = emu.close;
    ctxEnv.SHOPIFY_API_BASE_URL = emulatorUrl;
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
    log(`  Shopify emulator: ${emulatorUrl} (shop ${DEMO_SHOP.domain}, ${SKUS.length} SKUs x ${LOCATIONS.length} locations)`);
  }

  // The demo's own table tells the story; the worker and server log warnings and errors only.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  ctxEnv.LOG_LEVEL = env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL;
  const ctx = await createAppContext({ env: ctxEnv, config });
  const connection = await NativeConnection.connect({ address });
  const worker = await createInventoryWorker({ connection, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, activities: ctx.activities });
  const workerRun = worker.run();
  const http = await startHttpServer(ctx, port);
  log(`  worker on task queue "${env.TEMPORAL_TASK_QUEUE}"; HTTP server ${http.url} (GET /healthz, /metrics)`);
  for (const r of await applySchedules(ctx.temporal, config, env.TEMPORAL_TASK_QUEUE)) log(`  schedule ${r.outcome}: ${r.scheduleId} (${r.describe})`);
  log(`\nTemporal Web UI: ${uiUrl}   (workflows: refresh:${DEMO_SHOP.id}, reservation:...)\n`);

  // The simulated ERP/WMS/POS: receipts, picks and till sales arrive as source changes; each marks its key dirty.
  const rand = prng(20261130);
  const state = new Map<string, { erp: number; wms: number; pos: number }>();
  for (const sku of SKUS) for (const loc of LOCATIONS) state.set(`${sku}|${loc}`, { erp: 80 + Math.floor(rand() * 40), wms: 0, pos: 0 });
  const push = async (keys: string[]) => {
    const occurredAt = new Date().toISOString();
    for (const role of ['erp', 'wms', 'pos'] as const) {
      await recordSourceChanges(
        ctx.db,
        role,
        keys.map((k) => {
          const [sku, locationId] = k.split('|') as [string, string];
          return { shopId: DEMO_SHOP.id, sku, locationId, quantity: state.get(k)![role], occurredAt };
        }),
      );
    }
    await ctx.activities.markDirty({ shopId: DEMO_SHOP.id, keys: keys.map((k) => ({ sku: k.split('|')[0]!, locationId: k.split('|')[1]! })), trigger: 'source_event' });
  };
  await push([...state.keys()]);

  const tick = async () => {
    const keys = [...state.keys()];
    const changed = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const k = keys[Math.floor(rand() * keys.length)]!;
      const s = state.get(k)!;
      const roll = rand();
      if (roll < 0.4) s.wms = Math.min(s.erp, s.wms + 1 + Math.floor(rand() * 3));
      else if (roll < 0.7) s.pos = Math.min(s.erp - s.wms, s.pos + 1);
      else if (roll < 0.85) s.erp += 10 + Math.floor(rand() * 20);
      else {
        // shipped: allocated and sold units leave on-hand
        s.erp -= s.wms + s.pos;
        s.wms = 0;
        s.pos = 0;
      }
      changed.add(k);
    }
    await push([...changed]);
  };

  const sources = createSources(config, ctx.db);
  const shopify = createShopifyClients(config, emulatorUrl ? { baseUrl: emulatorUrl } : {})(DEMO_SHOP.id);
  const table = async () => {
    const components = await readComponents({ db: ctx.db, config, sources }, DEMO_SHOP.id, [...state.keys()].map((k) => ({ sku: k.split('|')[0]!, locationId: k.split('|')[1]! })));
    const { rows } = await ctx.db.query<{ sku: string; location_id: string; inventory_item_id: string; shopify_location_id: string }>('SELECT sku, location_id, inventory_item_id, shopify_location_id FROM mappings WHERE shop_id = $1', [DEMO_SHOP.id]);
    const levels = await shopify.readLevels(rows.map((r) => ({ inventoryItemId: r.inventory_item_id, locationId: r.shopify_location_id })), ['available']);
    log(`${new Date().toISOString().slice(11, 19)}  sku/location            erp  wms  pos claims buf   ATS  shopify`);
    for (const r of rows.sort((a, b) => `${a.sku}|${a.location_id}`.localeCompare(`${b.sku}|${b.location_id}`))) {
      const c = components.get(`${r.sku}|${r.location_id}`);
      if (!c || c.status !== 'ok') continue;
      const x = c.components;
      const available = levels.get(`${r.inventory_item_id}|${r.shopify_location_id}`)?.available;
      const ats = computeAts(x);
      log(`          ${`${r.sku}/${r.location_id}`.padEnd(24)}${String(x.erpOnHand).padStart(4)} ${String(x.wmsAllocated).padStart(4)} ${String(x.posPending).padStart(4)} ${String(x.openClaims).padStart(6)} ${String(x.safetyBuffer).padStart(3)} ${String(ats).padStart(5)} ${String(available ?? '?').padStart(8)}${available === ats ? '' : '  (syncing)'}`);
    }
  };

  let stopping = false;
  const ticker = setInterval(() => void tick().catch((e: unknown) => log(`simulator: ${(e as Error).message}`)), 2000);
  const printer = setInterval(() => void table().catch((e: unknown) => log(`table: ${(e as Error).message}`)), 10_000);
  setTimeout(() => void table().catch(() => undefined), 3000);

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    clearInterval(printer);
    log('\nstopping: HTTP server, worker, emulator, Temporal');
    await http.app.close();
    worker.shutdown();
    await workerRun;
    await connection.close();
    await ctx.close();
    await closeEmulator?.();
    await stopTemporal?.();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (opts.durationSeconds) setTimeout(() => void stop(), opts.durationSeconds * 1000);
  await workerRun;
}
