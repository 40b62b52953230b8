/**
 * bench/flash-sale: Shopify orders at a rising rate through the real path: orders placed in the emulator (before
 * each step: Shopify's order-taking is not our CPU), their signed orders/create webhooks posted to our HTTP server
 * at the step's rate (concurrently, as Shopify delivers), one reservation workflow per order that reads the
 * fulfillment orders, claims and marks keys dirty, on one worker.
 *
 * Prints: webhook acknowledgement p99 (target <= 50 ms), order-to-claim p50/p99, the highest sustained
 * orders/s, and the same Temporal server's rate for an empty workflow started the same way (signal-with-start)
 * in the same run (target ratio >= 0.5).
 *
 * A step is sustained when, 3 s after it ends, >= 99% of its orders are claimed and their order-to-claim p99 is
 * <= 2 s, and >= 99% of them reached Shopify (an applied ATS write of the order's SKU after its claim) with an
 * order-to-Shopify p99 <= 2 s. It also prints the Shopify cost points per order, the queries by root field, and the
 * rate the plan's restore rate alone allows at that cost. Services come from test/support/global-setup.ts, called here so the bench config stays as it is.
 *
 * Knobs: BENCH_PLAN (the shop's plan, default enterprise; standard restores 100 cost points/s), BENCH_RATES
 * (orders/s, comma-separated), BENCH_STEP_SECONDS, BENCH_SKUS, BENCH_EMPTY_SECONDS, and
 * BENCH_CPU_PROF=<dir> to write the worker's CPU profiles there (main thread and workflow thread; open them in
 * Chrome DevTools), which is how the per-order cost was found; BENCH_TRACE=1 prints each step's per-second
 * order-to-claim latency and the history timings of its three slowest orders.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, it } from 'vitest';
import { recordSourceChanges } from '../src/db/source-changes.js';
import { signWebhook } from '../src/shopify/emulator/index.js';
import { PLAN_LIMITS } from '../src/shopify/emulator/plans.js';
import globalSetup from '../test/support/global-setup.js';
import { buildProcessEntry, buildWorkerProcess, spawnProcess, spawnWorker, type ChildWorker } from '../test/reservations/fixtures/worker-process-build.js';
import { connectTestServices, testConfig, type TestServices } from '../test/support/services.js';

const RATES = (process.env.BENCH_RATES ?? '10,15,20,25,30,35,40,50').split(',').map(Number);
// 10 s steps: at 10 orders/s a 5 s step has 50 samples, and its p99 would be its single slowest request.
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 10);
const SKUS = Number(process.env.BENCH_SKUS ?? 50);
const EMPTY_SECONDS = Number(process.env.BENCH_EMPTY_SECONDS ?? 5);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
/** The emulated shop's plan (its cost budget: standard 100 points/s ... enterprise 2000/s). */
const PLAN = (process.env.BENCH_PLAN ?? 'enterprise') as 'standard' | 'advanced' | 'plus' | 'enterprise';
const WARMUP_RATE = 20;
/** BENCH_WRITES=0: judge a step on claims only, as before issue 12 part 4; by default writes must reach Shopify too. */
const WRITES_COUNT = process.env.BENCH_WRITES !== '0';
const WARMUP_SECONDS = 3;

let teardown: (() => Promise<void>) | undefined;
const provided: Record<string, string> = {};
let svc: TestServices;
let child: ChildWorker | undefined;

const SECRET = 'whsec-flash';
const env = { FLASH_SHOP_TOKEN: 'shpat-flash', FLASH_WEBHOOK_SECRET: SECRET };
let shopId = '';
let domain = '';
let serverUrl = '';
let emulatorUrl = '';
let server: (ChildWorker & { output(): string }) | undefined;
let emulator: (ChildWorker & { output(): string }) | undefined;
const builds: { dir: string }[] = [];

async function control(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${emulatorUrl}/_emulator${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`emulator ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Emulator, worker and HTTP server each in their own process, as deployed; this process sends and measures. */
beforeAll(async () => {
  teardown = await globalSetup({ provide: (k: string, v: string) => void (provided[k] = v) } as never, { temporalDefaults: true });
  svc = await connectTestServices({
    addresses: { databaseUrl: provided.databaseUrl!, redisUrl: provided.redisUrl!, temporalAddress: provided.temporalAddress!, workflowBundlePath: provided.workflowBundlePath! },
    logLevel: 'ERROR',
    poolSize: 20,
    prefix: 'bench',
  });
  shopId = svc.uid('flash');
  domain = `${shopId}.myshopify.com`;

  const emulatorBuild = await buildProcessEntry(fileURLToPath(new URL('./flash-sale-emulator.ts', import.meta.url)));
  builds.push(emulatorBuild);
  emulator = spawnProcess(emulatorBuild.file, {});
  await emulator.printed('emulator-url ', 60_000);
  emulatorUrl = /emulator-url (\S+)/.exec(emulator.output())![1]!;

  await control('/shops', { domain, accessToken: env.FLASH_SHOP_TOKEN, plan: PLAN });
  const location = (await control(`/shops/${domain}/locations`, { name: 'WH1' })).id as string;
  const skus = Array.from({ length: SKUS }, (_, i) => `FLASH-${i}`);
  await svc.db.query('INSERT INTO shops (id, domain, plan) VALUES ($1, $2, $3)', [shopId, domain, PLAN]);
  for (const sku of skus) {
    const p = (await control(`/shops/${domain}/products`, { sku })) as { variantId: string; inventoryItemId: string };
    await control(`/shops/${domain}/inventory`, { inventoryItemId: p.inventoryItemId, locationId: location, quantities: { available: 1_000_000 } });
    await svc.db.query(
      'INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id, variant_id) VALUES ($1, $2, $3, $4, $5, $6)',
      [shopId, sku, 'WH1', p.inventoryItemId, location, p.variantId],
    );
  }
  const config = testConfig({
    inventory_sync: { reservations: { ttl_seconds: 3600 }, safety_buffers: { strategy: 'static', static_units: 0 } },
    shops: [{ id: shopId, domain, plan: PLAN, access_token_env: 'FLASH_SHOP_TOKEN', webhook_secret_env: 'FLASH_WEBHOOK_SECRET' }],
    sources: [
      { name: `${shopId}-erp`, role: 'erp', type: 'postgres' },
      { name: `${shopId}-wms`, role: 'wms', type: 'postgres' },
    ],
  });
  const at = '2026-01-01T00:00:00.000Z';
  await recordSourceChanges(svc.db, `${shopId}-erp`, skus.map((sku) => ({ shopId, sku, locationId: 'WH1', quantity: 1_000_000, occurredAt: at })));
  await recordSourceChanges(svc.db, `${shopId}-wms`, skus.map((sku) => ({ shopId, sku, locationId: 'WH1', quantity: 0, occurredAt: at })));

  const serverBuild = await buildProcessEntry(fileURLToPath(new URL('./flash-sale-server.ts', import.meta.url)));
  builds.push(serverBuild);
  server = spawnProcess(serverBuild.file, {
    FLASH_SERVER_SPEC: JSON.stringify({ temporalAddress: provided.temporalAddress!, taskQueue: svc.taskQueue, databaseUrl: provided.databaseUrl!, redisUrl: provided.redisUrl!, redisPrefix: svc.redisPrefix, config, env }),
  });
  await server.printed('server-url ', 60_000);
  serverUrl = /server-url (\S+)/.exec(server.output())![1]!;

  const built = await buildWorkerProcess();
  builds.push(built);
  child = spawnWorker(built.file, {
    temporalAddress: provided.temporalAddress!,
    taskQueue: svc.taskQueue,
    databaseUrl: provided.databaseUrl!,
    redisUrl: provided.redisUrl!,
    redisPrefix: svc.redisPrefix,
    config,
    env,
    emulatorUrl,
    bundlePath: provided.workflowBundlePath!,
  }, CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []);
  await child.printed('worker-ready', 120_000);
}, 300_000);

afterAll(async () => {
  if (CPU_PROF_DIR && child) {
    child.child.kill('SIGUSR2');
    await Promise.race([child.exited, new Promise((r) => setTimeout(r, 10_000))]);
    console.log(`worker CPU profiles written to ${CPU_PROF_DIR}`);
  }
  child?.child.kill('SIGKILL');
  emulator?.child.kill('SIGKILL');
  await svc?.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('bench over').catch(() => undefined);
  server?.child.kill('SIGTERM');
  for (const b of builds) rmSync(b.dir, { recursive: true, force: true });
  await svc?.close();
  await teardown?.();
}, 120_000);

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

/**
 * The same server, the same start path (signal-with-start), a workflow that does nothing: closed loop, 64 at once.
 * Measured before the ramp and again after it (once the backlog has drained): this machine's speed drifts within a
 * run, and the ratio uses the mean of the two.
 */
async function emptyWorkflowRate(seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < deadline) {
        const handle = await svc.temporal.workflow.signalWithStart('emptyBaselineWorkflow', {
          workflowId: `bench-empty-${randomUUID()}`,
          taskQueue: svc.taskQueue,
          args: [],
          signal: 'go',
          signalArgs: [],
        });
        await handle.result();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

type Counters = { costSpent: number; requestedCost: number; throttled: number; calls: number; rootFields: Record<string, number> };
async function counters(): Promise<Counters> {
  const res = await fetch(`${emulatorUrl}/_emulator/shops/${domain}/counters`);
  return (await res.json()) as Counters;
}

/** Waits until no new claim has been written for 3 s (at most a minute): the overload steps leave a backlog. */
async function drained(): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  while (Date.now() < deadline) {
    const { rows } = await svc.db.query<{ n: string }>('SELECT count(*) AS n FROM claim_lines WHERE shop_id = $1', [shopId]);
    const n = Number(rows[0]!.n);
    if (n === last) return;
    last = n;
    await new Promise((r) => setTimeout(r, 3000));
  }
}

it('flash-sale: webhook ack, order-to-claim, sustained orders/s vs an empty workflow', async () => {
  const emptyBefore = await emptyWorkflowRate(EMPTY_SECONDS);

  const acks: number[] = [];
  const serverAcks: number[] = [];
  const toClaimAll: number[] = [];
  const steps: { rate: number; offered: number; claimed: number; written: number; p50: number; p99: number; writeP99: number; ackP99: number; serverAckP99: number; sustained: boolean }[] = [];
  let n = 0;
  const failures = new Map<number, number>();

  // Warm-up, not measured: the server's PostgreSQL pool opens its connections, sockets and JIT settle. Without
  // it the first step's p99 (its slowest few requests) measures process start-up, not acknowledgement.
  let costBefore: Counters | undefined;
  let measuredOrders = 0;
  for (const [step, rate] of [WARMUP_RATE, ...RATES].entries()) {
    if (step === 1) costBefore = await counters();
    const warmup = step === 0;
    const total = Math.round(rate * (warmup ? WARMUP_SECONDS : STEP_SECONDS));
    const sentAt = new Map<string, number>();
    const stepAcks: number[] = [];
    const stepServerAcks: number[] = [];
    const inflight: Promise<void>[] = [];
    // Shopify takes the orders on its own machines: they are placed in the emulator before the step, so the step
    // measures our side only (webhook in, claim out) and the emulator's order-taking does not share our 2 cores.
    const orders: { id: string; rest: unknown }[] = [];
    for (let i = 0; i < total; i += 8) {
      const batch = Array.from({ length: Math.min(8, total - i) }, () => `FLASH-${n++ % SKUS}`);
      orders.push(...(await Promise.all(batch.map((sku) => control(`/shops/${domain}/orders`, { lines: [{ sku, quantity: 1 }] })))) as { id: string; rest: unknown }[]);
    }
    const sendOrder = async (placed: { id: string; rest: unknown }) => {
      const orderId = placed.id.split('/').pop()!;
      const body = JSON.stringify(placed.rest);
      sentAt.set(orderId, Date.now());
      const t0 = performance.now();
      const res = await fetch(`${serverUrl}/webhooks/shopify`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-hmac-sha256': signWebhook(body, SECRET),
          'x-shopify-shop-domain': domain,
          'x-shopify-webhook-id': randomUUID(),
        },
      });
      await res.arrayBuffer();
      stepAcks.push(performance.now() - t0);
      const server = /ack;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
      if (server) stepServerAcks.push(Number(server[1]));
      if (res.status !== 200) failures.set(res.status, (failures.get(res.status) ?? 0) + 1);
    };
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(sendOrder(orders[i]!));
    }
    await Promise.all(inflight);
    await new Promise((r) => setTimeout(r, 3000));
    if (warmup) continue;
    measuredOrders += total;
    const { rows } = await svc.db.query<{ order_id: string; at: Date }>(
      'SELECT order_id, min(updated_at) AS at FROM claim_lines WHERE shop_id = $1 AND order_id = ANY($2::text[]) GROUP BY order_id',
      [shopId, [...sentAt.keys()]],
    );
    const toClaim = rows.map((r) => r.at.getTime() - sentAt.get(r.order_id)!);
    // Order to Shopify holding the ATS that counts it: the first write Shopify applied for the order's SKU after
    // the order was claimed (audit_log rows are written once Shopify answered), or the first refresh that read
    // Shopify and found it holding that ATS already ('unchanged': the checkout took the units, nothing to send). A
    // refresh already under way when the claim landed can answer first without counting it, so this can read low
    // by one refresh round.
    const { rows: written } = await svc.db.query<{ order_id: string; written: Date | null }>(
      `SELECT c.order_id,
              (SELECT min(a.at) FROM audit_log a WHERE a.shop_id = $1 AND a.sku = c.sku AND a.location_id = 'WH1' AND a.outcome IN ('applied', 'unchanged') AND a.at >= c.at) AS written
         FROM (SELECT order_id, min(sku) AS sku, min(updated_at) AS at FROM claim_lines WHERE shop_id = $1 AND order_id = ANY($2::text[]) GROUP BY order_id) c`,
      [shopId, [...sentAt.keys()]],
    );
    const toWrite = written.filter((r) => r.written !== null).map((r) => r.written!.getTime() - sentAt.get(r.order_id)!);
    if (process.env.BENCH_TRACE) {
      const t0 = Math.min(...sentAt.values());
      const perSecond = new Map<number, number[]>();
      for (const r of rows) {
        const sec = Math.floor((sentAt.get(r.order_id)! - t0) / 1000);
        perSecond.set(sec, [...(perSecond.get(sec) ?? []), r.at.getTime() - sentAt.get(r.order_id)!]);
      }
      const slowest = [...rows].sort((a, b) => b.at.getTime() - sentAt.get(b.order_id)! - (a.at.getTime() - sentAt.get(a.order_id)!)).slice(0, 3);
      for (const r of slowest) {
        const history = await svc.temporal.workflow.getHandle(`reservation:${shopId}:${r.order_id}`).fetchHistory();
        const sent = sentAt.get(r.order_id)!;
        const evs = (history.events ?? []).slice(0, 12).map((e) => `${String(e.eventType).replace('EVENT_TYPE_', '').slice(0, 14)}@${Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6) - sent}`);
        console.log(`slow ${r.order_id}: claim@${r.at.getTime() - sent} ${evs.join(' ')}`);
      }
      console.log(`trace ${rate}/s: ${[...perSecond].sort((a, b) => a[0] - b[0]).map(([sec, xs]) => `${sec}s:${pct(xs, 50)}/${pct(xs, 100)}`).join(' ')}`);
    }
    acks.push(...stepAcks);
    serverAcks.push(...stepServerAcks);
    toClaimAll.push(...toClaim);
    const p99 = pct(toClaim, 99);
    const writeP99 = pct(toWrite, 99);
    steps.push({
      rate, offered: total, claimed: rows.length, written: toWrite.length, p50: pct(toClaim, 50), p99, writeP99, ackP99: pct(stepAcks, 99), serverAckP99: pct(stepServerAcks, 99),
      sustained: rows.length >= 0.99 * total && p99 <= 2000 && (!WRITES_COUNT || (toWrite.length >= 0.99 * total && writeP99 <= 2000)),
    });
    // Once a step is not sustained, higher rates only grow the backlog.
    if (!steps.at(-1)!.sustained && steps.filter((x) => !x.sustained).length >= 2) break;
  }


  const best = steps.filter((s) => s.sustained).reduce((m, s) => Math.max(m, s.rate), 0);
  await drained();
  const costAfter = await counters();
  console.log(`\nflash-sale (orders/create webhooks posted concurrently; emulator, worker and HTTP server each in their own process; ${PLAN} plan shop)`);
  console.log('rate/s  offered  claimed  written  ack p99 (sender/server)  to-claim p50  to-claim p99  to-Shopify p99  sustained');
  for (const s of steps) {
    console.log(
      `${String(s.rate).padStart(6)}  ${String(s.offered).padStart(7)}  ${String(s.claimed).padStart(7)}  ${String(s.written).padStart(7)}  ${`${ms(s.ackP99)} / ${ms(s.serverAckP99)}`.padStart(22)}  ${ms(s.p50).padStart(12)}  ${ms(s.p99).padStart(12)}  ${ms(s.writeP99).padStart(14)}  ${s.sustained ? 'yes' : 'no'}`,
    );
  }
  const within = steps.filter((x) => x.sustained);
  const sustainedAcks = within.length > 0 ? Math.max(...within.map((x) => x.ackP99)) : NaN;
  console.log(`webhook ack p99 at sustained rates: ${ms(sustainedAcks)} as the sender saw it (target <= 50 ms)`);
  console.log(`webhook ack p99 (all steps, incl. overload): ${ms(pct(acks, 99))} as the sender saw it, ${ms(pct(serverAcks, 99))} inside the server (target <= 50 ms); non-200 answers: ${JSON.stringify(Object.fromEntries(failures))}`);
  console.log(`webhook ack p50 (all steps): ${ms(pct(acks, 50))} as the sender saw it, ${ms(pct(serverAcks, 50))} inside the server`);
  console.log(`order-to-claim (all claimed): p50 ${ms(pct(toClaimAll, 50))}, p99 ${ms(pct(toClaimAll, 99))}`);
  console.log(`highest sustained: ${best} orders/s`);
  if (costBefore) {
    const d = (k: 'costSpent' | 'requestedCost' | 'throttled' | 'calls') => costAfter[k] - costBefore![k];
    const perOrder = d('costSpent') / measuredOrders;
    console.log(`the ${PLAN} plan restores ${PLAN_LIMITS[PLAN].restoreRate} points/s: at ${perOrder.toFixed(1)} points per order the shop's budget alone caps it at ${(PLAN_LIMITS[PLAN].restoreRate / perOrder).toFixed(1)} orders/s`);
    console.log(`Shopify queries by root field over the measured steps: ${JSON.stringify(Object.fromEntries(Object.keys(costAfter.rootFields ?? {}).map((k) => [k, (costAfter.rootFields[k] ?? 0) - (costBefore!.rootFields?.[k] ?? 0)])))}`);
    console.log(`Shopify cost over the measured steps: ${d('costSpent').toFixed(0)} points actual (${(d('costSpent') / measuredOrders).toFixed(1)} per order), ${d('requestedCost').toFixed(0)} requested (${(d('requestedCost') / measuredOrders).toFixed(1)} per order), ${d('calls')} calls, ${d('throttled')} THROTTLED, for ${measuredOrders} orders`);
  }
  const emptyAfter = await emptyWorkflowRate(EMPTY_SECONDS);
  const emptyRate = (emptyBefore + emptyAfter) / 2;
  console.log(`empty workflow (signal-with-start + completion, same server): ${emptyBefore.toFixed(1)} workflows/s before the ramp, ${emptyAfter.toFixed(1)} after; mean ${emptyRate.toFixed(1)}`);
  console.log(`ratio: ${(best / emptyRate).toFixed(2)} (target >= 0.5; ${(best / Math.max(emptyBefore, emptyAfter)).toFixed(2)} against the faster of the two)`);
});
