/**
 * bench/ingest: single-event requests. The HTTP server and the worker each run in their own process, as deployed;
 * this process runs the emulator and the load generator (autocannon).
 *
 *   baseline     a bare Fastify server answering 202 to the same POST (bench/bare-server.ts), as fast as it goes:
 *                the machine's ceiling for HTTP alone, measured in the same run
 *   max          POST /sources/:source/events, one event per request, BENCH_CONNECTIONS concurrent senders, as fast
 *                as the server answers (each 202 after its group commit)
 *   at rate      the same at BENCH_RATE requests/s for BENCH_SECONDS: achieved rate, ack latency, and
 *                event-to-Shopify latency (from the request's send to the emulator applying the new ATS)
 *   wms          POST /wms/allocations, one allocation per request (a new order each), as fast as it goes
 *   wms at rate  the same at BENCH_RATE requests/s for BENCH_SECONDS, once the backlog above was handed off: the
 *                hand-off's lag and backlog, and its rate while draining. Such a confirmation (an order we have
 *                not seen) starts no workflow: the sweeper leaves it for the order's first claim
 *   wms known    BENCH_KNOWN_ORDERS orders (default 2,000) posted to POST /orders and claimed first, then one
 *                confirmation of each at BENCH_RATE/s. The WMS total is reported ahead, so each is converted
 *                (`applied_at`) as soon as it is applied: by the sweeper's confirmation lane in PostgreSQL, then
 *                signalled to the order's running workflow. The conversion's latency (received_at to applied_at)
 *                and rate, and the signals' lag and rate
 *
 * The per-token rate limit is raised for the bench (inventory_sync.http.rate_limit): a source sending 1,000
 * requests/s needs that in production too. Prints figures only. BENCH_WORKFLOW_TASKS sets the worker's workflow-task
 * slots (inventory_sync.worker.max_concurrent_workflow_tasks, default 100).
 * Run: npx vitest run --config bench/vitest.bench.config.ts bench/ingest
 */
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, it } from 'vitest';
import { recordSourceChanges } from '../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../src/demo/seed-catalog.js';
import { startEmulator, type RunningEmulator } from '../src/shopify/emulator/index.js';
import { refreshPending } from '../src/temporal/handoff.js';
import globalSetup from '../test/support/global-setup.js';
import { buildProcessEntry, buildWorkerProcess, spawnProcess, spawnWorker, type ChildWorker } from '../test/reservations/fixtures/worker-process-build.js';
import { connectTestServices, testConfig, type TestServices } from '../test/support/services.js';
import { keyTrail, timeline } from './traffic/history-timeline.js';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
/** Orders created (and claimed) before the phase that confirms allocations of known orders; 0 skips it. */
const KNOWN_ORDERS = Number(process.env.BENCH_KNOWN_ORDERS ?? 2000);
/** BENCH_WMS_ONLY=1: the baseline and the allocation phases only. */
const WMS_ONLY = process.env.BENCH_WMS_ONLY === '1';
/** BENCH_CPU_PROF=<dir>: the server's CPU profile is written there when the bench ends. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;

let teardown: (() => Promise<void>) | undefined;
const provided: Record<string, string> = {};
let svc: TestServices;
let emu: RunningEmulator;
let catalog: SeededCatalog;
const children: ChildWorker[] = [];
/** The HTTP server's process: its output holds the warnings the server logs. */
let serverProcess: ReturnType<typeof spawnProcess> | undefined;
const builds: { dir: string }[] = [];
const print = (line: string) => console.log(`[bench/ingest] ${line}`);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const env = { ING_SHOP_TOKEN: 'tok-ing', ING_SECRET: 'x', ING_ERP_TOKEN: 'erp-ing', ING_WMS_TOKEN: 'wms-ing', ING_OPERATOR_TOKEN: 'op-ing', ING_CHANNEL_TOKEN: 'ch-ing' };
let shopId = '';
let domain = '';
let serverUrl = '';
let bareUrl = '';
/** Keys used by each phase: one request per key, so a key's new ATS names the request that caused it. */
const KEYS = MAX_SECONDS * 8000 + SECONDS * RATE + 1000;
const skus = Array.from({ length: KEYS }, (_, i) => `ING-${String(i).padStart(6, '0')}`);

beforeAll(async () => {
  teardown = await globalSetup({ provide: (k: string, v: string) => void (provided[k] = v) } as never, { temporalDefaults: true });
  svc = await connectTestServices({
    addresses: { databaseUrl: provided.databaseUrl!, redisUrl: provided.redisUrl!, temporalAddress: provided.temporalAddress!, workflowBundlePath: provided.workflowBundlePath! },
    logLevel: 'ERROR',
    poolSize: 5,
    prefix: 'bench',
  });
  shopId = svc.uid('ing');
  domain = `${shopId}.myshopify.com`;
  emu = await startEmulator({ port: 0, logger: false });
  catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: env.ING_SHOP_TOKEN, plan: 'plus', locations: ['WH1'], skus, initialAvailable: () => 0 });
  const config = testConfig({
    inventory_sync: {
      safety_buffers: { strategy: 'static', static_units: 0 },
      http: { rate_limit: { max_requests: 100_000_000 } },
      // The worker's workflow-task slots (default 100): whether the refresh workflow's tasks wait for slots that the
      // reservation workflows' signals hold.
      ...(process.env.BENCH_WORKFLOW_TASKS ? { worker: { max_concurrent_workflow_tasks: Number(process.env.BENCH_WORKFLOW_TASKS) } } : {}),
    },
    shops: [{ id: shopId, domain, plan: 'plus', access_token_env: 'ING_SHOP_TOKEN', webhook_secret_env: 'ING_SECRET' }],
    sources: [
      { name: `${shopId}-erp`, role: 'erp', type: 'postgres', token_env: 'ING_ERP_TOKEN' },
      { name: `${shopId}-wms`, role: 'wms', type: 'postgres', token_env: 'ING_WMS_TOKEN' },
    ],
    channels: [{ name: 'bench', token_env: 'ING_CHANNEL_TOKEN' }],
    operator: { token_env: 'ING_OPERATOR_TOKEN' },
  });
  const serverBuild = await buildProcessEntry(fileURLToPath(new URL('./flash-sale-server.ts', import.meta.url)));
  builds.push(serverBuild);
  const server = spawnProcess(
    serverBuild.file,
    { FLASH_SERVER_SPEC: JSON.stringify({ temporalAddress: provided.temporalAddress!, taskQueue: svc.taskQueue, databaseUrl: provided.databaseUrl!, redisUrl: provided.redisUrl!, redisPrefix: svc.redisPrefix, config, env }) },
    CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [],
  );
  children.push(server);
  serverProcess = server;
  await server.printed('server-url ', 60_000);
  serverUrl = /server-url (\S+)/.exec(server.output())![1]!;
  const bareBuild = await buildProcessEntry(fileURLToPath(new URL('./bare-server.ts', import.meta.url)));
  builds.push(bareBuild);
  const bare = spawnProcess(bareBuild.file, {});
  children.push(bare);
  await bare.printed('server-url ', 60_000);
  bareUrl = /server-url (\S+)/.exec(bare.output())![1]!;
  const built = await buildWorkerProcess();
  builds.push(built);
  const worker = spawnWorker(built.file, {
    temporalAddress: provided.temporalAddress!,
    taskQueue: svc.taskQueue,
    databaseUrl: provided.databaseUrl!,
    redisUrl: provided.redisUrl!,
    redisPrefix: svc.redisPrefix,
    config,
    env,
    emulatorUrl: emu.url,
    bundlePath: provided.workflowBundlePath!,
  });
  children.push(worker);
  await worker.printed('worker-ready', 120_000);
}, 600_000);

afterAll(async () => {
  if (CPU_PROF_DIR && children[0]) {
    children[0].child.kill('SIGUSR2');
    await Promise.race([children[0].exited, new Promise((r) => setTimeout(r, 10_000))]);
  }
  for (const c of children) c.child.kill('SIGKILL');
  await svc?.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('bench over').catch(() => undefined);
  await emu?.close();
  for (const b of builds) rmSync(b.dir, { recursive: true, force: true });
  await svc?.close();
  await teardown?.();
}, 120_000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

/** The buckets of one of the server's histograms, for the series with these labels (cumulative counts by upper bound, `sum`). */
async function histogram(name: string, labels: Record<string, string>): Promise<Map<string, number>> {
  const res = await fetch(`${serverUrl}/metrics`, { headers: { authorization: `Bearer ${env.ING_OPERATOR_TOKEN}` } });
  const text = await res.text();
  const buckets = new Map<string, number>();
  const matches = (series: string) => Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`));
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\d+)`, 'gm'))) {
    if (matches(m[1]!)) buckets.set(/le="([^"]+)"/.exec(m[1]!)![1]!, Number(m[2]));
  }
  for (const m of text.matchAll(new RegExp(`^${name}_sum\\{([^}]*)\\} ([0-9.e+-]+)`, 'gm'))) if (matches(m[1]!)) buckets.set('sum', Number(m[2]));
  return buckets;
}

/** The server's isync_handoff_lag_seconds buckets of one outbox. */
const lagBuckets = (outbox: 'refresh' | 'reservation' | 'confirmation') => histogram('isync_handoff_lag_seconds', { outbox });
/** The sweeper's passes over one lane, by step: the mean and the p99 bucket bound between two snapshots. */
async function passSteps(outbox: 'refresh' | 'confirmation' = 'refresh'): Promise<Record<string, Map<string, number>>> {
  const out: Record<string, Map<string, number>> = {};
  const steps = outbox === 'refresh' ? ['claim', 'handoff', 'settle'] : ['claim', 'convert', 'settle'];
  for (const step of steps) out[step] = await histogram('isync_handoff_pass_seconds', { outbox, step });
  return out;
}
function passStepLine(before: Record<string, Map<string, number>>, after: Record<string, Map<string, number>>): string {
  return Object.keys(after)
    .map((step) => {
      const n = (after[step]!.get('+Inf') ?? 0) - (before[step]!.get('+Inf') ?? 0);
      const mean = n === 0 ? NaN : (((after[step]!.get('sum') ?? 0) - (before[step]!.get('sum') ?? 0)) / n) * 1000;
      const over = (le: string) => n - ((after[step]!.get(le) ?? 0) - (before[step]!.get(le) ?? 0));
      return `${step} ${n} passes, mean ${mean.toFixed(0)} ms, p99 ${lagQuantile(before[step]!, after[step]!, 0.99)}, over 250 ms ${over('0.25')}, over 1 s ${over('1')}`;
    })
    .join('; ');
}

/** The bucket bound under which a share `q` of the rows handed off between two snapshots waited (an upper bound). */
function lagQuantile(before: Map<string, number>, after: Map<string, number>, q: number): string {
  const rows = [...after].filter(([le]) => le !== 'sum').map(([le, n]) => [le, n - (before.get(le) ?? 0)] as const);
  const total = rows.find(([le]) => le === '+Inf')?.[1] ?? 0;
  if (total === 0) return 'n/a';
  const hit = rows.find(([, n]) => n >= q * total);
  return hit ? (hit[0] === '+Inf' ? '> 60 s' : `<= ${Number(hit[0]) * 1000} ms`) : 'n/a';
}

/**
 * The refresh signals Temporal took over 1 s to acknowledge (the server logs each) and the runs of the shop's refresh
 * workflow (each continue-as-new starts one), on one timeline from `since`: whether slow signals line up with a run
 * change.
 */
async function slowSignalsAndRuns(since: number, phaseEnd?: number): Promise<string> {
  const slow = (serverProcess?.output() ?? '')
    .split('\n')
    .filter((l) => l.includes('slow to take a refresh signal') || l.includes('did not take a refresh signal'))
    .map((l) => JSON.parse(l) as { ms: number; keys: number; sentAt: string; msg: string })
    .filter((s) => Date.parse(s.sentAt) >= since)
    .map((s) => `${((Date.parse(s.sentAt) - since) / 1000).toFixed(2)} s (${s.msg.includes('did not') ? 'failed after' : 'took'} ${s.ms} ms, ${s.keys} keys)`);
  const runs: string[] = [];
  let weighed = '';
  let openTail = '';
  for await (const w of svc.temporal.workflow.list({ query: `WorkflowId = "refresh:${shopId}"` })) {
    // A run that began before the phase but closed during it (a continue-as-new in the phase) counts too.
    if (w.startTime.getTime() < since - 1000 && !(w.closeTime && w.closeTime.getTime() >= since)) continue;
    runs.push(`${((w.startTime.getTime() - since) / 1000).toFixed(2)} s${w.closeTime ? ` (closed ${((w.closeTime.getTime() - since) / 1000).toFixed(2)} s, ${w.historyLength} events, ${((w.historySize ?? 0) / 1e6).toFixed(1)} MB)` : ''}`);
    // What fills a closed run's history (Temporal suggests continue-as-new at 4 MB or 4,096 events): bytes per event type.
    if (w.closeTime && !weighed) {
      const history = await svc.temporal.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      const bytes = new Map<string, { n: number; bytes: number }>();
      for (const e of history.events ?? []) {
        const type = String(e.eventType);
        const b = bytes.get(type) ?? { n: 0, bytes: 0 };
        b.n++;
        b.bytes += temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
        bytes.set(type, b);
      }
      weighed = [...bytes].sort((a, b) => b[1].bytes - a[1].bytes).map(([t, b]) => `${t} x${b.n} ${(b.bytes / 1e3).toFixed(0)} kB`).join(', ');
      // Its last 3 s, event by event: what the run did while a signal waited.
      const closedAt = w.closeTime.getTime();
      weighed += `; its last 3 s: ${timeline(history, closedAt - 3000, closedAt, since)}`;
    }
    // The run going at the phase's end, from 0.5 s before it: what the last events of the phase waited for.
    if (!w.closeTime && phaseEnd !== undefined) {
      const history = await svc.temporal.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      openTail = `; the open run from 0.5 s before the phase's end: ${timeline(history, phaseEnd - 500, phaseEnd + 2000, since)}`;
    }
  }
  return `slow refresh signals (sent at): ${slow.join(', ') || 'none'}; refresh runs started at: ${runs.sort((a, b) => parseFloat(a) - parseFloat(b)).join(', ') || 'none'}; a closed run's history by event type: ${weighed || 'n/a'}${openTail}`;
}

interface Phase {
  rps: number;
  ok: number;
  other: number;
  errors: number;
  p50: number;
  p99: number;
}

/** One autocannon run; `body(i)` is the i-th request's JSON. */
async function run(url: string, path: string, token: string, body: (i: number) => unknown, opts: { seconds: number; rate?: number; amount?: number }, onSend?: (i: number) => void): Promise<Phase> {
  let i = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: opts.seconds,
    ...(opts.amount ? { amount: opts.amount } : {}),
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    requests: [
      {
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        setupRequest: (req) => {
          const n = i++;
          onSend?.(n);
          return { ...req, body: JSON.stringify(body(n)) };
        },
      },
    ],
  });
  return { rps: result.requests.average, ok: result['2xx'], other: result.non2xx, errors: result.errors + result.timeouts, p50: result.latency.p50, p99: result.latency.p99 };
}

it('ingest: single-event requests per second, ack and event-to-Shopify latency', async () => {
  const erpPath = `/sources/${shopId}-erp/events`;
  let keyBase = 0;
  const event = (n: number, quantity: number) => ({ events: [{ shopId, sku: skus[keyBase + n]!, locationId: 'WH1', quantity, occurredAt: new Date().toISOString() }] });
  const line = (name: string, p: Phase) =>
    `${name}: ${Math.round(p.rps)} requests/s, ${p.ok} answered 2xx, ${p.other} other, ${p.errors} errors/timeouts; ack p50 ${p.p50} ms, p99 ${p.p99} ms; load ${load()}`;

  const bare = await run(bareUrl, erpPath, env.ING_ERP_TOKEN, (n) => event(n, 1), { seconds: MAX_SECONDS });
  print(line('baseline (bare Fastify, same request)', bare));

  // BENCH_WMS_ONLY=1 skips the source-event phases: the allocation phases alone, on a machine not yet loaded by them.
  if (!WMS_ONLY) {
    const max = await run(serverUrl, erpPath, env.ING_ERP_TOKEN, (n) => event(n, 5), { seconds: MAX_SECONDS });
    print(line('POST /sources/:source/events, as fast as it answers', max));
    print(`  ratio to the bare server: ${(max.rps / bare.rps).toFixed(2)}`);
    keyBase += max.ok + max.other + max.errors + CONNECTIONS;

    // The phase above left a backlog (tens of thousands of keys): it drains first, so the paced phase's latencies
    // are its own events' and not the queue the unpaced one left.
    const drainStarted = performance.now();
    let quietSince = performance.now();
    let lastApplied = -1;
    while (performance.now() - drainStarted < 120_000) {
      const applied = emu.emulator.counters(domain).mutationsApplied;
      if (applied !== lastApplied) {
        lastApplied = applied;
        quietSince = performance.now();
      }
      const { rows } = await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM refresh_handoffs WHERE shop_id = $1', [shopId]);
      if (rows[0]!.n === 0 && (await refreshPending({ temporal: svc.temporal }, shopId)) === 0 && performance.now() - quietSince > 1000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    print(`  the backlog it left drained in ${((quietSince - drainStarted) / 1000).toFixed(1)} s`);

    // At the target rate: when each event's new ATS reaches Shopify.
    const base = keyBase;
    const sentAt = new Map<number, number>();
    /** Wall-clock ms minus performance.now(): to compare the bench's times with PostgreSQL's. */
    const wallOffset = Date.now() - performance.now();
    const arrived = new Map<number, number>();
    const itemIndex = new Map<number, number>();
    for (let k = base; k < skus.length; k++) {
      const gid = catalog.ids.get(`${skus[k]}|WH1`)!.inventoryItemId;
      itemIndex.set(Number(gid.split('/').pop()), k - base);
    }
    const QTY = 7;
    const original = emu.emulator.levelsChanged;
    emu.emulator.levelsChanged = (shop, levels) => {
      const now = performance.now();
      for (const level of levels) {
        const n = itemIndex.get(level.itemId);
        if (n !== undefined && level.quantities.available === QTY && !arrived.has(n)) arrived.set(n, now);
      }
      original(shop, levels);
    };
    const lagBefore = await lagBuckets('refresh');
    const passBefore = await passSteps();
    const phaseStart = Date.now();
    const atRate = await run(serverUrl, erpPath, env.ING_ERP_TOKEN, (n) => event(n, QTY), { seconds: SECONDS, rate: RATE }, (n) => sentAt.set(n, performance.now()));
    const phaseEnd = Date.now();
    const deadline = performance.now() + 30_000;
    while (arrived.size < atRate.ok && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    emu.emulator.levelsChanged = original;
    const toShopify = [...arrived].map(([n, t]) => t - sentAt.get(n)!);
    print(line(`POST /sources/:source/events at ${RATE}/s`, atRate));
    print(`  event-to-Shopify: ${toShopify.length} of ${atRate.ok} arrived; p50 ${Math.round(pct(toShopify, 50))} ms, p90 ${Math.round(pct(toShopify, 90))} ms, p99 ${Math.round(pct(toShopify, 99))} ms, max ${Math.round(pct(toShopify, 100))} ms`);
    // When the slow ones were sent (tenths of a second into the phase): a burst at one moment, or spread out.
    const phaseT0 = Math.min(...sentAt.values());
    const slowAt = new Map<string, number>();
    for (const [n, t] of arrived) {
      if (t - sentAt.get(n)! <= 500) continue;
      const at = ((sentAt.get(n)! - phaseT0) / 1000).toFixed(1);
      slowAt.set(at, (slowAt.get(at) ?? 0) + 1);
    }
    print(`  events over 500 ms, by when they were sent (s into the phase: count): ${[...slowAt].sort((a, b) => Number(a[0]) - Number(b[0])).map(([at, n]) => `${at}: ${n}`).join(', ') || 'none'}`);
    // Where those waited: from the send to the server's commit (the snapshot row's time), and from there to Shopify.
    const slow = [...arrived].filter(([n, t]) => t - sentAt.get(n)! > 500).map(([n]) => n);
    if (slow.length > 0) {
      const { rows } = await svc.db.query<{ sku: string; at: number }>(
        `SELECT sku, extract(epoch FROM updated_at) * 1000 AS at FROM source_snapshots WHERE source = $1 AND shop_id = $2 AND sku = ANY($3::text[])`,
        [`${shopId}-erp`, shopId, slow.map((n) => skus[base + n]!)],
      );
      const committed = new Map(rows.map((r) => [r.sku, Number(r.at) - wallOffset]));
      const toCommit = slow.filter((n) => committed.has(skus[base + n]!)).map((n) => committed.get(skus[base + n]!)! - sentAt.get(n)!);
      const toShop = slow.filter((n) => committed.has(skus[base + n]!)).map((n) => arrived.get(n)! - committed.get(skus[base + n]!)!);
      print(`  of those ${slow.length}: send to the server's commit p50 ${Math.round(pct(toCommit, 50))} ms (max ${Math.round(pct(toCommit, 100))}), commit to Shopify p50 ${Math.round(pct(toShop, 50))} ms (max ${Math.round(pct(toShop, 100))})`);
    }
    // The share of that which is the hand-off: commit to the refresh workflow's signal acknowledged (the outbox wait).
    const lagAfter = await lagBuckets('refresh');
    print(`  of which in the refresh outbox (commit to signal taken; bucket bounds): p50 ${lagQuantile(lagBefore, lagAfter, 0.5)}, p99 ${lagQuantile(lagBefore, lagAfter, 0.99)}`);
    print(`  the sweeper's passes over it: ${passStepLine(passBefore, await passSteps())}`);
    print(`  ${await slowSignalsAndRuns(phaseStart, phaseEnd)}`);
    keyBase = base + sentAt.size + CONNECTIONS;
  }

  // The WMS confirms one allocation per request, each of an order we have not seen: no workflow is started, the
  // sweeper leaves the confirmation for the order's first claim (src/db/early-confirmations.ts).
  const wms = await run(
    serverUrl,
    '/wms/allocations',
    env.ING_WMS_TOKEN,
    (n) => ({ shopId, orderId: `bench-${n}`, allocationId: `a-${n}`, occurredAt: new Date().toISOString(), lines: [{ lineId: '1', sku: skus[n % 1000]!, locationId: 'WH1', quantity: 1 }] }),
    { seconds: MAX_SECONDS },
  );
  print(line('POST /wms/allocations, as fast as it answers', wms));
  // Each allocation's hand-off happens after its 202: how long they waited, and how many still wait.
  const resLag = await lagBuckets('confirmation');
  const handedOff = await (async () => {
    const deadline = performance.now() + 60_000;
    for (;;) {
      const { rows } = await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reservation_handoffs');
      if (rows[0]!.n === 0 || performance.now() > deadline) return { waiting: rows[0]!.n, seconds: (performance.now() - deadline + 60_000) / 1000 };
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  print(`  allocations' hand-off (left for their orders): ${handedOff.waiting} still in the outbox ${handedOff.seconds.toFixed(1)} s after the phase; waited p50 ${lagQuantile(new Map(), resLag, 0.5)}, p99 ${lagQuantile(new Map(), resLag, 0.99)} (at the phase's end)`);
  print(`  ratio to the bare server: ${(wms.rps / bare.rps).toFixed(2)}`);

  // Paced, once the backlog above is handed off (up to 5 more minutes): does the hand-off keep up at BENCH_RATE?
  const outboxRows = async () => (await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reservation_handoffs')).rows[0]!.n;
  const backlogDeadline = performance.now() + 300_000;
  while ((await outboxRows()) > 0 && performance.now() < backlogDeadline) await new Promise((r) => setTimeout(r, 500));
  const leftBefore = await outboxRows();
  const pacedLagBefore = await lagBuckets('confirmation');
  const paced = await run(
    serverUrl,
    '/wms/allocations',
    env.ING_WMS_TOKEN,
    (n) => ({ shopId, orderId: `paced-${n}`, allocationId: `p-${n}`, occurredAt: new Date().toISOString(), lines: [{ lineId: '1', sku: skus[n % 1000]!, locationId: 'WH1', quantity: 1 }] }),
    { seconds: SECONDS, rate: RATE },
  );
  const waitingAtEnd = await outboxRows();
  const drainStart = performance.now();
  while ((await outboxRows()) > 0 && performance.now() - drainStart < 120_000) await new Promise((r) => setTimeout(r, 200));
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const pacedLagAfter = await lagBuckets('confirmation');
  const stillWaiting = await outboxRows();
  print(line(`POST /wms/allocations at ${RATE}/s for ${SECONDS} s${leftBefore > 0 ? ` (${leftBefore} of the phase above still waiting when it began)` : ''}`, paced));
  print(
    `  hand-off (commit to being left for the order; bucket bounds): p50 ${lagQuantile(pacedLagBefore, pacedLagAfter, 0.5)}, p99 ${lagQuantile(pacedLagBefore, pacedLagAfter, 0.99)}; ` +
      `${waitingAtEnd} waiting at the phase's end, ${stillWaiting} still ${drainSeconds.toFixed(1)} s later (handed off at ${drainSeconds > 0 ? Math.round((waitingAtEnd - stillWaiting) / drainSeconds) : 'n/a'}/s meanwhile)`,
  );

  if (KNOWN_ORDERS > 0) await knownOrdersPhase(line, outboxRows);
});

/**
 * Confirmations of orders we know: the common case, since a WMS allocates orders it was sent. The orders come first
 * (POST /orders, each starting its workflow) and are claimed; their SKUs get ERP stock and a WMS total dated ahead,
 * so each confirmation is converted (applied_at) as soon as it is applied (the confirmation lane). Then one
 * confirmation per order at BENCH_RATE/s.
 */
async function knownOrdersPhase(line: (name: string, p: Phase) => string, outboxRows: () => Promise<number>): Promise<void> {
  const n = KNOWN_ORDERS;
  const known = skus.slice(0, 1000);
  const ahead = new Date(Date.now() + 3_600_000).toISOString();
  await recordSourceChanges(svc.db, `${shopId}-erp`, known.map((sku) => ({ shopId, sku, locationId: 'WH1', quantity: 1_000_000, occurredAt: new Date().toISOString() })));
  await recordSourceChanges(svc.db, `${shopId}-wms`, known.map((sku) => ({ shopId, sku, locationId: 'WH1', quantity: 0, occurredAt: ahead })));
  const orderBody = (i: number) => ({ shopId, orderId: `known-${i}`, updatedAt: new Date().toISOString(), lines: [{ lineId: '1', sku: known[i % known.length]!, locationId: 'WH1', quantity: 1 }] });
  const createdAt = performance.now();
  const created = await run(serverUrl, '/orders', env.ING_CHANNEL_TOKEN, orderBody, { seconds: 600, amount: n, rate: 500 });
  const claimed = async () =>
    (await svc.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservations WHERE shop_id = $1 AND order_id LIKE 'ext:bench:known-%' AND state = 'claimed'`, [shopId])).rows[0]!.n;
  const claimDeadline = performance.now() + 600_000;
  while ((await claimed()) < created.ok && performance.now() < claimDeadline) await new Promise((r) => setTimeout(r, 500));
  print(`POST /orders, ${n} orders of the next phase: ${created.ok} answered 2xx; ${await claimed()} claimed ${((performance.now() - createdAt) / 1000).toFixed(1)} s after the first was sent`);

  const applied = async () =>
    (await svc.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM wms_allocations WHERE shop_id = $1 AND allocation_id LIKE 'k-%' AND applied_at IS NOT NULL`, [shopId])).rows[0]!.n;

  // Event-to-Shopify: each conversion raises its key's ATS by one (the WMS total dated ahead says 0, so the unit
  // leaves the claims and no total takes it), and the refresh writes it. Once the claims' own writes are done,
  // confirmation j (1, 2, ...) of a key has reached Shopify when the key's available is its value now plus j.
  const quietFrom = performance.now();
  let quietSince = performance.now();
  let lastApplied = -1;
  while (performance.now() - quietFrom < 120_000) {
    const mutations = emu.emulator.counters(domain).mutationsApplied;
    if (mutations !== lastApplied) [lastApplied, quietSince] = [mutations, performance.now()];
    const { rows } = await svc.db.query<{ n: number }>('SELECT (SELECT count(*) FROM refresh_handoffs WHERE shop_id = $1) + (SELECT count(*) FROM reservation_handoffs WHERE shop_id = $1) AS n', [shopId]);
    if (Number(rows[0]!.n) === 0 && (await refreshPending({ temporal: svc.temporal }, shopId)) === 0 && performance.now() - quietSince > 2000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const quietWait = (performance.now() - quietFrom) / 1000;
  const itemOf = new Map(known.map((sku) => [Number(catalog.ids.get(`${sku}|WH1`)!.inventoryItemId.split('/').pop()), sku]));
  const startAvailable = new Map<string, number>();
  for (const item of emu.emulator.snapshot(domain).items) {
    const sku = itemOf.get(Number(item.id.split('/').pop()));
    if (sku !== undefined) startAvailable.set(sku, Number(item.levels[0]?.available ?? 0));
  }
  /** Per SKU, the confirmations' indices in send order, and when Shopify showed each. */
  const bySku = new Map<string, number[]>();
  for (let i = 0; i < n; i++) bySku.set(known[i % known.length]!, [...(bySku.get(known[i % known.length]!) ?? []), i]);
  const confirmSent = new Map<number, number>();
  const confirmArrived = new Map<number, number>();
  const originalChanged = emu.emulator.levelsChanged;
  emu.emulator.levelsChanged = (shop, levels) => {
    const now = performance.now();
    for (const level of levels) {
      const sku = itemOf.get(level.itemId);
      if (sku === undefined) continue;
      const rise = level.quantities.available - startAvailable.get(sku)!;
      bySku.get(sku)!.slice(0, Math.max(0, rise)).forEach((i) => confirmArrived.has(i) || confirmArrived.set(i, now));
    }
    originalChanged(shop, levels);
  };
  const lagBefore = await lagBuckets('reservation');
  const laneBefore = await lagBuckets('confirmation');
  const laneStepsBefore = await passSteps('confirmation');
  const sentAt = performance.now();
  const confirms = await run(
    serverUrl,
    '/wms/allocations',
    env.ING_WMS_TOKEN,
    (i) => ({ shopId, channel: 'bench', orderId: `known-${i}`, allocationId: `k-${i}`, occurredAt: new Date().toISOString(), lines: [{ lineId: '1', sku: known[i % known.length]!, locationId: 'WH1', quantity: 1 }] }),
    { seconds: 600, amount: n, rate: RATE },
    (i) => confirmSent.set(i, performance.now()),
  );
  const phaseSeconds = (performance.now() - sentAt) / 1000;
  const waitingAtEnd = await outboxRows();
  const appliedAtEnd = await applied();
  const drainStart = performance.now();
  let handedAt = 0;
  while (performance.now() - drainStart < 300_000) {
    const [waiting, done] = [await outboxRows(), await applied()];
    if (waiting === 0 && handedAt === 0) handedAt = performance.now();
    if (waiting === 0 && done >= confirms.ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const appliedFinal = await applied();
  const allSeconds = (performance.now() - sentAt) / 1000;
  const shownDeadline = performance.now() + 30_000;
  while (confirmArrived.size < confirms.ok && performance.now() < shownDeadline) await new Promise((r) => setTimeout(r, 100));
  emu.emulator.levelsChanged = originalChanged;
  const toShopify = [...confirmArrived].filter(([i]) => confirmSent.has(i)).map(([i, t]) => t - confirmSent.get(i)!);
  const lagAfter = await lagBuckets('reservation');
  const laneAfter = await lagBuckets('confirmation');
  const laneSteps = passStepLine(laneStepsBefore, await passSteps('confirmation'));
  // Each confirmation's own time from the route's commit to its conversion, from the rows.
  const latency = (
    await svc.db.query<{ p50: number | null; p99: number | null; last: number | null }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)) * 1000 AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)) * 1000 AS p99,
              extract(epoch FROM max(applied_at) - min(received_at))::float8 AS last
         FROM wms_allocations WHERE shop_id = $1 AND allocation_id LIKE 'k-%' AND applied_at IS NOT NULL`,
      [shopId],
    )
  ).rows[0]!;
  const ms = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v)} ms`);
  print(line(`POST /wms/allocations of ${n} known orders at ${RATE}/s`, confirms));
  print(
    `  converted (commit to applied_at, per confirmation): p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}; the last ${latency.last === null ? 'n/a' : `${latency.last.toFixed(1)} s`} after the first was received; ` +
      `confirmation lane (commit to conversion, bucket bounds): p50 ${lagQuantile(laneBefore, laneAfter, 0.5)}, p99 ${lagQuantile(laneBefore, laneAfter, 0.99)}`,
  );
  print(`  the confirmation lane's passes: ${laneSteps}`);
  print(
    `  hand-off (signals to running workflows; commit to signal taken, bucket bounds): p50 ${lagQuantile(lagBefore, lagAfter, 0.5)}, p99 ${lagQuantile(lagBefore, lagAfter, 0.99)}; ` +
      `${waitingAtEnd} waiting when the last was answered (${phaseSeconds.toFixed(1)} s), all handed off ${handedAt > 0 ? ((handedAt - sentAt) / 1000).toFixed(1) : '> 300'} s after the first was sent`,
  );
  print(`  applied: ${appliedAtEnd} when the last was answered, ${appliedFinal} of ${confirms.ok} after ${allSeconds.toFixed(1)} s (${Math.round(appliedFinal / allSeconds)}/s overall)`);
  // Which refreshes wrote these keys after the first confirmation was sent, and when (s after it).
  const firstSentWall = Date.now() - (performance.now() - Math.min(...confirmSent.values()));
  const writes = await svc.db.query<{ trigger: string; outcome: string; n: number; first: number; last: number }>(
    `SELECT trigger, outcome, count(*)::int AS n, extract(epoch FROM min(at))::float8 * 1000 - $3 AS first, extract(epoch FROM max(at))::float8 * 1000 - $3 AS last
       FROM audit_log WHERE shop_id = $1 AND sku = ANY($2::text[]) AND at >= to_timestamp($3 / 1000.0) GROUP BY trigger, outcome ORDER BY min(at)`,
    [shopId, known, firstSentWall],
  );
  print(`  refreshes of those keys since the first was sent (trigger, outcome: rows, first-last s): ${writes.rows.map((r) => `${r.trigger}, ${r.outcome}: ${r.n}, ${(r.first / 1000).toFixed(1)}-${(r.last / 1000).toFixed(1)}`).join('; ') || 'none'}`);
  // The slowest keys' refreshes: when each wrote (s after the first send), what ATS it wrote, and what Shopify had.
  const slowest = [...confirmArrived].filter(([i]) => confirmSent.has(i)).sort((a, b) => b[1] - confirmSent.get(b[0])! - (a[1] - confirmSent.get(a[0])!)).slice(0, 3);
  // The shop's refresh runs that overlap the phase: what each slow key's signals and flushes were, and when.
  const histories: temporal.api.history.v1.IHistory[] = [];
  for await (const w of svc.temporal.workflow.list({ query: `WorkflowId = "refresh:${shopId}"` })) {
    if (w.closeTime && w.closeTime.getTime() < firstSentWall - 1000) continue;
    histories.push(await svc.temporal.workflow.getHandle(w.workflowId, w.runId).fetchHistory());
  }
  let shownTimeline = false;
  for (const [i, t] of slowest) {
    const sku = known[i % known.length]!;
    const conversions = await svc.db.query<{ id: string; received: number; applied: number | null }>(
      `SELECT allocation_id AS id, (extract(epoch FROM received_at)::float8 * 1000 - $3) / 1000 AS received, (extract(epoch FROM applied_at)::float8 * 1000 - $3) / 1000 AS applied
         FROM wms_allocations WHERE shop_id = $1 AND allocation_id LIKE 'k-%' AND sku = $2 ORDER BY received_at`,
      [shopId, sku, firstSentWall],
    ).catch((err: Error) => ({ rows: [{ id: `(not read: ${err.message})`, received: 0, applied: null }] }));
    print(
      `  slow key ${sku}: confirmations received/converted (s): ${conversions.rows.map((r) => `${r.id} ${Number(r.received).toFixed(2)}/${r.applied === null ? '-' : Number(r.applied).toFixed(2)}`).join(', ')}; ` +
        `its refresh workflow events: ${histories.flatMap((h) => keyTrail(h, sku, firstSentWall)).sort((a, b) => parseFloat(a) - parseFloat(b)).join('; ') || 'none'}`,
    );
    // For the slowest key, everything the workflow did from the last signal that carried it to the flush that wrote
    // it: what that flush waited for (a coalescing wait, flushes in flight, workflow tasks).
    const events = histories.flatMap((h) => keyTrail(h, sku, firstSentWall)).sort((a, b) => parseFloat(a) - parseFloat(b));
    const lastFlush = events.filter((e) => e.includes('scheduled')).pop();
    const lastSignal = events.filter((e) => e.includes(' signal ') && lastFlush !== undefined && parseFloat(e) <= parseFloat(lastFlush)).pop();
    if (!shownTimeline && lastFlush !== undefined && lastSignal !== undefined) {
      shownTimeline = true;
      const [from, to] = [firstSentWall + parseFloat(lastSignal) * 1000 - 100, firstSentWall + parseFloat(lastFlush) * 1000 + 100];
      print(`  the refresh workflow from that key's last signal to its flush (s): ${histories.map((h) => timeline(h, from, to, firstSentWall)).filter(Boolean).join(' | ')}`);
    }
    const trail = await svc.db.query<{ s: number; trigger: string; outcome: string; ats: number | null; previous: number | null; detail: string | null }>(
      `SELECT (extract(epoch FROM at)::float8 * 1000 - $3) / 1000 AS s, trigger, outcome, ats, previous_shopify AS previous, left(detail::text, 120) AS detail
         FROM audit_log WHERE shop_id = $1 AND sku = $2 AND at >= to_timestamp($3 / 1000.0) - interval '5 seconds' ORDER BY at`,
      [shopId, sku, firstSentWall],
    );
    print(
      `  slow: confirmation ${i} (${sku}) sent ${((confirmSent.get(i)! - Math.min(...confirmSent.values())) / 1000).toFixed(2)} s in, in Shopify ${((t - confirmSent.get(i)!) / 1000).toFixed(2)} s later; its key's refreshes: ` +
        trail.rows.map((r) => `${Number(r.s).toFixed(2)} s ${r.trigger} ${r.outcome} ats ${r.ats} (was ${r.previous})${r.detail ? ` ${r.detail}` : ''}`).join('; '),
    );
  }
  print(
    `  event-to-Shopify (send to the key's new ATS in Shopify): ${toShopify.length} of ${confirms.ok} arrived; p50 ${Math.round(pct(toShopify, 50))} ms, p90 ${Math.round(pct(toShopify, 90))} ms, ` +
      `p99 ${Math.round(pct(toShopify, 99))} ms, max ${Math.round(pct(toShopify, 100))} ms (measured after the claims' own writes settled: ${quietWait.toFixed(1)} s)`,
  );
}
