/**
 * bench/reconcile: reconciliation of N sku-locations (10 locations per SKU) against a raw read of the same data,
 * measured in the same run, for each N in BENCH_RECONCILE_KEYS (default 10,000, 100,000 and 1,000,000).
 *
 *   raw read      Shopify's levels through one bulk export (start, wait, download, parse every JSONL line), then
 *                 a scan of the shop's mappings in PostgreSQL (a cursor, 10,000 rows a fetch): what any
 *                 reconciliation must at least read
 *   reconcile     the reconcile workflow on a worker in its own process (the production activities): the export
 *                 read chunk by chunk, each chunk's mappings and ATS components read, drift corrected through the
 *                 guarded write, a checkpoint per chunk; BENCH_DRIFT_EVERY-th key drifted (default every 500th)
 *   worker RSS    the worker process's peak resident set (VmHWM), and its RSS when it was idle before the run
 *   emulator      this process's RSS after seeding (the emulator holds the levels here)
 *
 * Prints figures only. Needs PostgreSQL, Redis and the Temporal CLI, like `npm test`.
 * Run: npx vitest run --config bench/vitest.bench.config.ts bench/reconcile
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, it } from 'vitest';
import { LEVELS_EXPORT } from '../src/activities/shopify-warmup.js';
import { createShopifyClient } from '../src/shopify/client/index.js';
import { startEmulator, type RunningEmulator } from '../src/shopify/emulator/index.js';
import type { ReconcileProgress } from '../src/workflows/reconcile.js';
import { reconcileProgressQuery, reconcileWorkflow } from '../src/workflows/index.js';
import globalSetup from '../test/support/global-setup.js';
import { buildWorkerProcess, spawnWorker, type ChildWorker } from '../test/reservations/fixtures/worker-process-build.js';
import { connectTestServices, testConfig, type TestServices } from '../test/support/services.js';

const SIZES = (process.env.BENCH_RECONCILE_KEYS ?? '10000,100000,1000000').split(',').map(Number);
const LOCATIONS = Array.from({ length: 10 }, (_, i) => `L${i}`);
const DRIFT_EVERY = Number(process.env.BENCH_DRIFT_EVERY ?? 500);

let teardown: (() => Promise<void>) | undefined;
const provided: Record<string, string> = {};
let svc: TestServices;
let built: { file: string; dir: string } | undefined;
const print = (line: string) => console.log(`[bench/reconcile] ${line}`);
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const procKb = (pid: number, field: 'VmHWM' | 'VmRSS') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

beforeAll(async () => {
  teardown = await globalSetup({ provide: (k: string, v: string) => void (provided[k] = v) } as never, { temporalDefaults: true });
  svc = await connectTestServices({
    addresses: { databaseUrl: provided.databaseUrl!, redisUrl: provided.redisUrl!, temporalAddress: provided.temporalAddress!, workflowBundlePath: provided.workflowBundlePath! },
    logLevel: 'ERROR',
    poolSize: 5,
    prefix: 'bench',
  });
  built = await buildWorkerProcess();
}, 300_000);

afterAll(async () => {
  if (built) rmSync(built.dir, { recursive: true, force: true });
  await svc?.close();
  await teardown?.();
}, 120_000);

async function seed(emu: RunningEmulator, shopId: string, domain: string, token: string, keys: number): Promise<void> {
  emu.emulator.createShop({ domain, accessToken: token, plan: 'plus' });
  const locationIds = LOCATIONS.map((name) => emu.emulator.createLocation(domain, { name }).id);
  await svc.db.query('INSERT INTO shops (id, domain, plan) VALUES ($1, $2, $3)', [shopId, domain, 'plus']);
  const skus = keys / LOCATIONS.length;
  const batch: { sku: string[]; loc: string[]; item: string[]; sloc: string[] } = { sku: [], loc: [], item: [], sloc: [] };
  const flush = async () => {
    await svc.db.query(
      `INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`,
      [shopId, batch.sku, batch.loc, batch.item, batch.sloc],
    );
    batch.sku = [];
    batch.loc = [];
    batch.item = [];
    batch.sloc = [];
  };
  let n = 0;
  for (let i = 0; i < skus; i++) {
    const sku = `SKU-${String(i).padStart(6, '0')}`;
    const product = emu.emulator.createProduct(domain, { sku });
    for (let l = 0; l < LOCATIONS.length; l++) {
      // Shopify holds ATS (20) but for every DRIFT_EVERY-th key.
      emu.emulator.setQuantities(domain, product.inventoryItemId, locationIds[l]!, { available: n % DRIFT_EVERY === 0 ? 27 : 20 });
      batch.sku.push(sku);
      batch.loc.push(LOCATIONS[l]!);
      batch.item.push(product.inventoryItemId);
      batch.sloc.push(locationIds[l]!);
      n++;
    }
    if (batch.sku.length >= 50_000) await flush();
  }
  if (batch.sku.length > 0) await flush();
  // The ERP holds 20 of everything.
  await svc.db.query(
    `INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at)
     SELECT $2, shop_id, sku, location_id, 20, now() FROM mappings WHERE shop_id = $1`,
    [shopId, `${shopId}-erp`],
  );
  await svc.db.query('ANALYZE mappings');
  await svc.db.query('ANALYZE source_snapshots');
}

/** What any reconciliation must read: the export, every line parsed, and the shop's mappings. */
async function rawRead(emu: RunningEmulator, shopId: string, domain: string, token: string): Promise<{ ms: number; lines: number; mappings: number }> {
  const started = performance.now();
  const client = createShopifyClient({ shopDomain: domain, accessToken: token, baseUrl: emu.url });
  let lines = 0;
  for await (const row of client.runBulkQuery(LEVELS_EXPORT)) if (row) lines++;
  const pg = await svc.db.connect();
  let mappings = 0;
  try {
    await pg.query('BEGIN');
    await pg.query('DECLARE m NO SCROLL CURSOR FOR SELECT sku, location_id, inventory_item_id, shopify_location_id FROM mappings WHERE shop_id = $1', [shopId]);
    for (;;) {
      const { rows } = await pg.query('FETCH 10000 FROM m');
      if (rows.length === 0) break;
      mappings += rows.length;
    }
    await pg.query('COMMIT');
  } finally {
    pg.release();
  }
  return { ms: performance.now() - started, lines, mappings };
}

it('reconcile: N sku-locations against a raw read of the same data, worker peak RSS', async () => {
  const results: string[] = [];
  for (const keys of SIZES) {
    const shopId = svc.uid('rec');
    const domain = `${shopId}.myshopify.com`;
    const token = `tok-${shopId}`;
    const emu = await startEmulator({ port: 0, logger: false });
    let child: ChildWorker | undefined;
    try {
      const seedStarted = performance.now();
      await seed(emu, shopId, domain, token, keys);
      global.gc?.();
      const emulatorRss = process.memoryUsage().rss;
      print(`${keys.toLocaleString('en')} keys seeded in ${s(performance.now() - seedStarted)}; this process (emulator inside) RSS ${mb(emulatorRss)}; load ${load()}`);

      const raw = await rawRead(emu, shopId, domain, token);
      print(`raw read: ${s(raw.ms)} (${raw.lines} JSONL rows, ${raw.mappings} mappings); load ${load()}`);

      const config = testConfig({
        inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 } },
        shops: [{ id: shopId, domain, plan: 'plus', access_token_env: 'REC_TOKEN', webhook_secret_env: 'REC_SECRET' }],
        sources: [{ name: `${shopId}-erp`, role: 'erp', type: 'postgres' }],
      });
      const taskQueue = `${svc.taskQueue}-${shopId}`;
      child = spawnWorker(built!.file, {
        temporalAddress: provided.temporalAddress!,
        taskQueue,
        databaseUrl: provided.databaseUrl!,
        redisUrl: provided.redisUrl!,
        redisPrefix: svc.redisPrefix,
        config,
        env: { REC_TOKEN: token, REC_SECRET: 'x' },
        emulatorUrl: emu.url,
        bundlePath: provided.workflowBundlePath!,
      });
      await child.printed('worker-ready', 120_000);
      const idleRss = procKb(child.child.pid!, 'VmRSS');

      const started = performance.now();
      const handle = await svc.temporal.workflow.start(reconcileWorkflow, { taskQueue, workflowId: svc.uid('reconcile-bench'), args: [{ shopId }] });
      const done = handle.result();
      let finished = false;
      void done.finally(() => (finished = true)).catch(() => undefined);
      while (!finished) {
        await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
        if (finished) break;
        const p = await handle.query<ReconcileProgress>(reconcileProgressQuery).catch(() => undefined);
        if (p?.linesTotal) print(`  progress: line ${p.linesDone} of ${p.linesTotal}, ${p.checked} checked, ${p.drifted} drifted (${s(performance.now() - started)})`);
      }
      const result = await done;
      const ms = performance.now() - started;
      const peak = procKb(child.child.pid!, 'VmHWM');
      const expectedDrift = Math.ceil(keys / DRIFT_EVERY);
      print(
        `reconcile: ${s(ms)} = ${(ms / raw.ms).toFixed(2)}x the raw read (target <= 3x); ${result.checked} checked, ${result.drifted} drifted (seeded ${expectedDrift}), ` +
          `${result.corrected} corrected, ${result.badLines} bad lines, ${result.missing} missing; worker RSS peak ${mb(peak)} (idle ${mb(idleRss)}; target <= 512 MB); load ${load()}`,
      );
      results.push(`| ${keys.toLocaleString('en')} | ${s(raw.ms)} | ${s(ms)} | ${(ms / raw.ms).toFixed(2)}x | ${mb(peak)} | ${mb(idleRss)} | ${mb(emulatorRss)} | ${load()} |`);
    } finally {
      child?.child.kill('SIGKILL');
      await emu.close();
    }
  }
  print('| keys | raw read | reconcile | ratio | worker peak RSS | worker idle RSS | bench process (emulator) RSS | load |');
  for (const r of results) print(r);
});
