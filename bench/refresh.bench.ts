/**
 * bench/refresh: 10,000 dirty (sku, location) keys of one shop through the real pipeline (Temporal worker, the
 * shop's coalescing workflow, PostgreSQL sources, the Redis guard, the Shopify client, the emulator).
 *
 *   cold start   the guard knows no Shopify quantity yet, so every batch first reads Shopify's levels
 *   steady state Shopify's quantities are known from the previous writes: one write per 250 keys
 *   latency      ERP events POSTed one per request to /sources/:source/events at BENCH_EVENTS_PER_SECOND,
 *                each on a key of its own, timed until the emulator holds the new ATS
 *
 * Prints figures only. Needs PostgreSQL, Redis and the Temporal CLI (or TEMPORAL_ADDRESS), like `npm test`.
 * Run: npx vitest run --config bench/vitest.bench.config.ts bench/refresh
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { it } from 'vitest';
import { createActivities } from '../src/activities/index.js';
import { markDirty, waitForRefreshRoom } from '../src/temporal/handoff.js';
import { configSchema } from '../src/config/schema.js';
import { migrate } from '../src/db/migrate.js';
import { rememberLastSeen } from '../src/guard/last-seen.js';
import { createPool, dropDatabase } from '../src/db/pool.js';
import { seedCatalog } from '../src/demo/seed-catalog.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { createRedis } from '../src/redis/client.js';
import { createSources } from '../src/runtime/sources.js';
import { createShopifyClient } from '../src/shopify/client/index.js';
import { startEmulator, type ShopifyPlan } from '../src/shopify/emulator/index.js';
import type { SourceAdapter } from '../src/sources/adapter.js';
import { buildHttpServer } from '../src/starters/http/server.js';
import { startDevServer, temporalAnswers } from '../src/temporal/dev-server.js';
import { WORKFLOWS_PATH } from '../src/workers/bundle.js';
import { shopRefreshStateQuery } from '../src/workflows/index.js';
import { createInventoryWorker } from '../src/workers/worker.js';
import type { SkuLocation } from '../src/domain/sku-location.js';
import { buildWorkerProcess, spawnWorker, type ChildWorker } from '../test/reservations/fixtures/worker-process-build.js';
import { cpuByCommand, cpuSpent, machineBusySeconds } from './traffic/machine-cpu.js';


/** CPU seconds a process has used so far (user + system), from /proc: the worker child's share of a phase. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const SKUS = Number(process.env.BENCH_SKUS ?? 2_500);
const LOCATIONS = ['WH1', 'WH2', 'STORE1', 'STORE2'];
const PLAN = (process.env.BENCH_PLAN ?? 'plus') as ShopifyPlan;
const EVENTS_PER_SECOND = Number(process.env.BENCH_EVENTS_PER_SECOND ?? 200);
const EVENT_SECONDS = Number(process.env.BENCH_EVENT_SECONDS ?? 15);
const COALESCE_MS = Number(process.env.BENCH_COALESCE_MS ?? 200);
/** BENCH_CPU_PROF=<dir>: a CPU profile of this process's main thread (activities, client, emulator) per steady phase. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
/**
 * BENCH_WORKER=process (default): the worker runs in a process of its own, as deployed (a worker never shares a
 * process with Shopify), and this process holds the emulator and the bare client. BENCH_WORKER=inline: the worker
 * runs here, beside the emulator, and the per-flush breakdown is printed (it needs the activities in this process).
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER_MODE = process.env.BENCH_WORKER === 'inline' ? 'inline' : 'process';
/** A source sends the events due since its last request in one request (up to 1000 are allowed). */
const EVENTS_PER_REQUEST = Number(process.env.BENCH_EVENTS_PER_REQUEST ?? 10);

/** Counts what refresh asks of a source: calls, and keys per call. */
function counted(source: SourceAdapter, tally: { calls: number; keys: number }): SourceAdapter {
  return {
    name: source.name,
    role: source.role,
    getComponents: (shopId, keys, signal) => {
      tally.calls++;
      tally.keys += keys.length;
      return source.getComponents(shopId, keys, signal);
    },
  };
}

/**
 * The per-flush breakdown: how long each step of `refreshKeys` took, summed over a phase of the bench, and how
 * many flushes were in flight on average (activity time over wall time).
 */
class FlushProfile {
  private ms = new Map<string, number>();
  private flushes = 0;
  private keys = 0;
  private started = performance.now();
  readonly record = (phase: string, ms: number, keys: number) => {
    this.ms.set(phase, (this.ms.get(phase) ?? 0) + ms);
    if (phase === 'total') {
      this.flushes++;
      this.keys += keys;
    }
  };
  reset(): void {
    this.ms.clear();
    this.flushes = 0;
    this.keys = 0;
    this.started = performance.now();
  }
  summary(): string {
    const wall = performance.now() - this.started;
    const total = this.ms.get('total') ?? 0;
    const n = Math.max(1, this.flushes);
    const steps = ['hop', 'mappings', 'version', 'compare', 'sources', 'reread', 'guard', 'shopify', 'record', 'release']
      .map((p) => `${p} ${((this.ms.get(p) ?? 0) / n).toFixed(0)}`)
      .join(', ');
    const inSteps = ['mappings', 'version', 'compare', 'sources', 'reread', 'guard', 'shopify', 'record', 'release'].reduce((a, p) => a + (this.ms.get(p) ?? 0), 0);
    return (
      `${this.flushes} flushes of ${(this.keys / n).toFixed(0)} keys; per flush ms: ${steps}; activity ${(total / n).toFixed(0)} ` +
      `(steps not timed ${((total - inSteps) / n).toFixed(0)}); flushes in flight on average ${(total / wall).toFixed(2)}`
    );
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

it('refresh: 10,000 dirty keys, cold and steady, and event-to-Shopify latency', async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const print = (line: string) => console.log(`[bench/refresh] ${line}`);
  const base = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const databaseUrl = `${base}/inventory_sync_bench_${process.pid}`;
  await migrate(databaseUrl);
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  const dev = temporalAddress && (await temporalAnswers(temporalAddress)) ? undefined : await startDevServer({ port: 0, headless: true, logFile: join(tmpdir(), `bench-refresh-temporal-${process.pid}.log`) });
  temporalAddress = dev?.address ?? temporalAddress!;
  const db = createPool(databaseUrl, Number(process.env.BENCH_DB_POOL ?? 10));
  const redis = createRedis(REDIS_URL, `isync-bench:${randomUUID().slice(0, 8)}:`);
  const emu = await startEmulator({ port: 0, logger: false });
  const connection = await Connection.connect({ address: temporalAddress });
  const temporal = new Client({ connection });
  const native = await NativeConnection.connect({ address: temporalAddress });
  const taskQueue = `bench-${randomUUID()}`;
  const shopId = 'bench-shop';
  const domain = 'bench-shop.myshopify.com';
  const token = 'shpat_bench_refresh';
  const env = { BENCH_SHOP_TOKEN: token, BENCH_SECRET: 'x', BENCH_ERP_TOKEN: 'erp-bench' };
  const config = configSchema.parse({
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, aggregation: { coalesce_window_ms: COALESCE_MS } },
    shops: [{ id: shopId, domain, plan: PLAN, access_token_env: 'BENCH_SHOP_TOKEN', webhook_secret_env: 'BENCH_SECRET' }],
    sources: [
      { name: 'bench-erp', role: 'erp', type: 'postgres', token_env: 'BENCH_ERP_TOKEN' },
      { name: 'bench-wms', role: 'wms', type: 'postgres' },
      { name: 'bench-pos', role: 'pos', type: 'postgres' },
    ],
  });

  try {
    const skus = Array.from({ length: SKUS }, (_, i) => `SKU-${String(i).padStart(5, '0')}`);
    const catalog = await seedCatalog(emu.emulator, db, { shopId, domain, accessToken: token, plan: PLAN, locations: LOCATIONS, skus, initialAvailable: () => 0 });
    const keys: SkuLocation[] = skus.flatMap((sku) => LOCATIONS.map((locationId) => ({ sku, locationId })));
    const shopifyIds = keys.map((k) => catalog.ids.get(`${k.sku}|${k.locationId}`)!);
    const available = (i: number) => emu.emulator.getLevel(domain, shopifyIds[i]!.inventoryItemId, shopifyIds[i]!.locationId).available;
    const setErp = (quantity: (i: number) => number) =>
      db.query(
        `INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at)
         SELECT 'bench-erp', $1, k.sku, k.loc, k.q, clock_timestamp() FROM unnest($2::text[], $3::text[], $4::int[]) AS k(sku, loc, q)
         ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at`,
        [shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId), keys.map((_, i) => quantity(i))],
      );

    const tally = { calls: 0, keys: 0 };
    const shopify = createShopifyClient({ shopDomain: domain, accessToken: token, baseUrl: emu.url });
    const profile = new FlushProfile();
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
    let stopWorker: () => Promise<void>;
    let workerCpu: () => number;
    if (WORKER_MODE === 'inline') {
      const activities = createActivities({ db, redis, config, profile: profile.record, sources: createSources(config, db).map((s) => counted(s, tally)), shopify: () => shopify, temporal, taskQueue });
      const worker = await createInventoryWorker({ connection: native, namespace: 'default', taskQueue, activities, overrides: { workflowBundle: { code: bundle.code }, shutdownGraceTime: '2 seconds' } });
      const running = worker.run();
      stopWorker = async () => {
        worker.shutdown();
        await running;
      };
      workerCpu = () => 0;
    } else {
      const built = await buildWorkerProcess();
      mkdirSync(built.dir, { recursive: true });
      const bundlePath = join(built.dir, 'workflow-bundle.js');
      writeFileSync(bundlePath, bundle.code);
      const child: ChildWorker = spawnWorker(
        built.file,
        { temporalAddress, taskQueue, databaseUrl, redisUrl: REDIS_URL, redisPrefix: redis.options.keyPrefix ?? '', config, env, emulatorUrl: emu.url, bundlePath },
        CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [],
      );
      await child.printed('worker-ready', 120_000);
      stopWorker = async () => {
        // SIGUSR2 is a clean exit, so a worker started with --cpu-prof writes its profile.
        child.child.kill(CPU_PROF_DIR ? 'SIGUSR2' : 'SIGKILL');
        await Promise.race([child.exited, new Promise((r) => setTimeout(r, 10_000))]);
        rmSync(built.dir, { recursive: true, force: true });
      };
      workerCpu = () => cpuSecondsOf(child.child.pid!);
    }

    // The current run's history: every dirty key travels in a signal and every flush's keys in an activity input,
    // and Temporal ends a run whose history passes 50 MB (docs.temporal.io/workflow-execution/limits), so this is the figure to watch
    // as a backlog grows (a run continues as new only with at most MAX_CARRIED_KEYS pending).
    const historyOf = async (h: { describe(): Promise<{ runId: string; historyLength: number; historySize?: number }> }) => {
      const d = await h.describe().catch(() => undefined);
      return d ? `history ${d.historyLength} events, ${((d.historySize ?? 0) / 2 ** 20).toFixed(1)} MB (run ${d.runId.slice(0, 8)})` : 'history unknown';
    };
    let flushedBefore = 0;
    let flushSeconds = 0;
    const phase = async (name: string, quantity: (i: number) => number): Promise<number> => {
      await setErp(quantity);
      const before = emu.emulator.counters(domain);
      tally.calls = 0;
      tally.keys = 0;
      profile.reset();
      const cpu = CPU_PROF_DIR && WORKER_MODE === 'inline' && name.startsWith('steady') ? new Session() : undefined;
      if (cpu) {
        cpu.connect();
        await cpu.post('Profiler.enable');
        await cpu.post('Profiler.start');
      }
      const byCommandBefore = cpuByCommand();
      const busyBefore = machineBusySeconds();
      const workerCpuBefore = workerCpu();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      // In signals of 10,000 keys: one signal of 100,000 is past Temporal's message size.
      // With flow control, as a full sync hands keys on (src/temporal/handoff.ts): waiting while more than 20,000 are
      // pending keeps the workflow's history under Temporal's limit at any number of keys, and the refresh busy.
      let waits = 0;
      for (let k = 0; k < keys.length; k += 10_000) {
        waits += await waitForRefreshRoom({ temporal }, shopId, Math.min(10_000, keys.length - k));
        await markDirty({ temporal, taskQueue }, { shopId, keys: keys.slice(k, k + 10_000), trigger: 'bench' });
      }
      // Done when nothing is pending and Shopify holds every key's ATS. (The workflow's flush counter alone is not
      // enough: it restarts when the run continues as new, which a 100,000-key phase does, and the bench waited
      // for a count it would never reach; that was the "100k run that did not finish".)
      const handle = temporal.workflow.getHandle(`refresh:${shopId}`);
      let lastProgress = performance.now();
      let lastCheck = 0;
      let checkEvery = 100;
      let lastQuery = 0;
      let flushedNow = flushedBefore;
      // The phase ends when Shopify's last write of it landed: the emulator's applied-mutation counter is read every
      // 10 ms (cheap), the workflow queried every 100 ms (a query is a workflow task on the worker), and the levels
      // compared (10,000 reads) only once nothing is pending. The bare client's run is ~0.3 s, so a 100 ms
      // resolution would be a visible share of the ratio.
      let applied = emu.emulator.counters(domain).mutationsApplied;
      let landedAt = performance.now();
      for (;;) {
        const m = emu.emulator.counters(domain).mutationsApplied;
        if (m !== applied) {
          applied = m;
          landedAt = performance.now();
        }
        if (performance.now() - lastQuery >= 100) {
          lastQuery = performance.now();
          const state = await handle.query(shopRefreshStateQuery).catch(() => undefined);
          flushedNow = state?.keysFlushed ?? flushedNow;
          // Shopify holding every key's new ATS is the end, not the workflow's flush counter: the counter only
          // moves when the workflow has taken a flush's completion, so a phase that ended on the levels left the
          // counter short, and the next phase, ending on `counter >= before + keys`, ended before its last
          // flushes (2,000 keys "did not hold their ATS" and the phase looked faster than it was). The levels
          // are compared once nothing is pending, at most every 10x the time a comparison takes.
          if (state?.pending === 0 && performance.now() - lastCheck > checkEvery) {
            const t = performance.now();
            const done = keys.every((_, i) => available(i) === quantity(i));
            lastCheck = performance.now();
            checkEvery = Math.max(100, 10 * (lastCheck - t));
            if (done) break;
          }
          // Every 10 s: how far the phase is, and the process's memory (a 100,000-key run takes minutes).
          if (performance.now() - lastProgress > 10_000) {
            lastProgress = performance.now();
            print(`  ${name.split(' ')[0]} t=${((lastProgress - started) / 1000).toFixed(0)} s: flushed ${(state?.keysFlushed ?? 0) - flushedBefore}, pending ${state?.pending ?? '?'}, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB, ${await historyOf(handle)}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`);
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      // The counter of the run now going (it may have continued as new during the phase).
      flushedBefore = flushedNow;
      const wrong = keys.filter((_, i) => available(i) !== quantity(i)).length;
      if (wrong > 0) print(`${name}: ${wrong} keys do not hold their ATS`);
      const seconds = (landedAt - started) / 1000;
      flushSeconds = seconds;
      if (cpu) {
        const { profile: taken } = await cpu.post('Profiler.stop');
        mkdirSync(CPU_PROF_DIR!, { recursive: true });
        const file = join(CPU_PROF_DIR!, `refresh-${name.split(' ').slice(0, 2).join('-').replace(/[^a-z-]/g, '')}-${Date.now()}.cpuprofile`);
        writeFileSync(file, JSON.stringify(taken));
        cpu.disconnect();
        print(`  CPU profile: ${file}`);
      }
      const after = emu.emulator.counters(domain);
      print(
        `${name}: ${keys.length} keys in ${seconds.toFixed(2)} s; Shopify calls ${after.calls - before.calls} ` +
          `(writes ${after.mutationsApplied - before.mutationsApplied}, throttled ${after.throttled - before.throttled}, 5xx ${after.errors5xx - before.errors5xx}); ` +
          (WORKER_MODE === 'inline' ? `source calls ${tally.calls} for ${tally.keys} key reads = ${(tally.calls / keys.length).toFixed(4)} calls per key per source set, ${(tally.keys / keys.length).toFixed(2)} reads per key; ` : '') +
          `load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      );
      print(`  the shop's refresh workflow at the end of the phase: ${await historyOf(handle)}; the producer waited ${waits} times for the pending keys to drain`);
      const cpuUsed = process.cpuUsage(cpuBefore);
      const busy = machineBusySeconds() - busyBefore;
      print(`  machine busy ${busy.toFixed(2)} CPU s over ${seconds.toFixed(2)} s on ${availableParallelism()} cores; CPU s by command: ${cpuSpent(byCommandBefore, cpuByCommand())}`);
      const ownCpu = ((cpuUsed.user + cpuUsed.system) / 1e6).toFixed(2);
      if (WORKER_MODE === 'inline') print(`  ${profile.summary()}; bench process CPU ${ownCpu} s (worker, workflow thread, emulator)`);
      else print(`  CPU: worker process ${(workerCpu() - workerCpuBefore).toFixed(2)} s, bench process ${ownCpu} s (emulator, bare client)`);
      return flushSeconds;
    };

    print(`worker ${WORKER_MODE === 'inline' ? 'in this process, beside the emulator' : 'in a process of its own'}; plan ${PLAN}, ${SKUS} SKUs x ${LOCATIONS.length} locations = ${keys.length} keys, coalescing window ${COALESCE_MS} ms, ${EVENTS_PER_REQUEST} events per request`);
    await phase('cold start (Shopify levels unknown: one bulk export, then write)', (i) => 10 + (i % 90));
    const steady = await phase('steady state (levels known from the last write)', (i) => 20 + (i % 90));

    // The bare client on the same emulator and plan: the same keys written straight through setAvailable (250 a
    // call, budget-paced), from the quantities the pipeline left. Then the pipeline again, so a drift in the
    // machine's load shows as a difference between the two pipeline runs.
    const bareByCommandBefore = cpuByCommand();
    const bareBusyBefore = machineBusySeconds();
    const bareCpuBefore = process.cpuUsage();
    const bareStarted = performance.now();
    const bareResults = await shopify.setAvailable(
      keys.map((_, i) => ({ ...shopifyIds[i]!, quantity: 30 + (i % 90), changeFromQuantity: 20 + (i % 90) })),
      { keySalt: `bare-${Date.now()}` },
    );
    const bareSeconds = (performance.now() - bareStarted) / 1000;
    const bareCpu = process.cpuUsage(bareCpuBefore);
    const bareBusy = machineBusySeconds() - bareBusyBefore;
    const bareByCommand = cpuSpent(bareByCommandBefore, cpuByCommand());
    const bareApplied = bareResults.filter((r) => r.status === 'applied').length;
    // The guard remembers the pipeline's last writes as Shopify's quantity: tell it what the bare client left (what
    // a warm-up from a bulk export does), or the next compare-and-swap would go stale on every key.
    await rememberLastSeen(redis, shopId, keys.map((k, i) => [k, 30 + (i % 90)]));
    print(`bare client: ${keys.length} keys in ${bareSeconds.toFixed(2)} s (${Math.round(keys.length / bareSeconds)} keys/s, ${bareApplied} applied; bench process CPU ${((bareCpu.user + bareCpu.system) / 1e6).toFixed(2)} s, machine busy ${bareBusy.toFixed(2)} CPU s: ${bareByCommand}); load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    const again = await phase('steady state again (after the bare client)', (i) => 40 + (i % 90));
    const pipelineRate = keys.length / Math.min(steady, again);
    print(
      `refresh pipeline / bare client write rate: ${(keys.length / steady / (keys.length / bareSeconds)).toFixed(2)} and ${(keys.length / again / (keys.length / bareSeconds)).toFixed(2)} ` +
        `(best ${(pipelineRate / (keys.length / bareSeconds)).toFixed(2)}; target >= 0.8); bench process peak RSS ${Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024)} MB`,
    );

    // Latency: one event per request at a fixed rate, each on a key no other event touches.
    const app = buildHttpServer({ db, redis, config, temporal, taskQueue, metrics: createMetrics(), logger: createLogger('silent'), env });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/sources/bench-erp/events`;
    const total = Math.min(keys.length, EVENTS_PER_SECOND * EVENT_SECONDS);
    const order = keys.map((_, i) => i).sort((a, b) => ((a * 7919) % keys.length) - ((b * 7919) % keys.length));
    const outstanding = new Map<number, { sentAt: number; expected: number }>();
    const latencies: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching || outstanding.size > 0) {
        for (const [i, o] of outstanding) {
          if (available(i) === o.expected) {
            latencies.push(performance.now() - o.sentAt);
            outstanding.delete(i);
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const before = emu.emulator.counters(domain);
    const start = performance.now();
    let sent = 0;
    let answered = 0;
    let lastTick = performance.now();
    let worstLag = 0;
    const progress = setInterval(() => {
      const now = performance.now();
      worstLag = Math.max(worstLag, now - lastTick - 1000);
      lastTick = now;
      if (process.env.BENCH_VERBOSE) print(`  t=${((now - start) / 1000).toFixed(0)} s sent ${sent} answered ${answered} waiting for Shopify ${outstanding.size} event-loop lag ${worstLag.toFixed(0)} ms`);
    }, 1000);
    const posts: Promise<unknown>[] = [];
    let failed = 0;
    // Events are due at a fixed rate; a source sends what is due in one request every 1000/rate*perRequest ms.
    for (let n = 0; n < total; n += EVENTS_PER_REQUEST) {
      const group = Array.from({ length: Math.min(EVENTS_PER_REQUEST, total - n) }, (_, j) => n + j);
      const due = start + ((group.at(-1)! + 1) * 1000) / EVENTS_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const events = group.map((m) => {
        const i = order[m]!;
        const k = keys[i]!;
        const expected = 500 + m;
        // Latency counts from when the event was due, so time spent waiting for the request is included.
        outstanding.set(i, { sentAt: start + (m * 1000) / EVENTS_PER_SECOND, expected });
        sent++;
        return { shopId, sku: k.sku, locationId: k.locationId, quantity: expected, occurredAt: new Date().toISOString() };
      });
      posts.push(
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${env.BENCH_ERP_TOKEN}` },
          body: JSON.stringify({ events }),
        }).then((r) => {
          answered += events.length;
          if (r.status !== 202) failed += events.length;
          return r.body?.cancel();
        }),
      );
    }
    const sendSeconds = (performance.now() - start) / 1000;
    await Promise.all(posts);
    watching = false;
    const deadline = performance.now() + 60_000;
    while (outstanding.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    watching = false;
    await watcher.catch(() => undefined);
    clearInterval(progress);
    const after = emu.emulator.counters(domain);
    latencies.sort((a, b) => a - b);
    print(
      `latency: ${total} events in ${sendSeconds.toFixed(1)} s (${(total / sendSeconds).toFixed(0)}/s, ${failed} not 202), ` +
        `event-to-Shopify p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${latencies.at(-1)?.toFixed(0)} ms; ` +
        `${outstanding.size} never arrived; Shopify calls ${after.calls - before.calls} (writes ${after.mutationsApplied - before.mutationsApplied})`,
    );

    await app.close();
    await temporal.workflow.getHandle(`refresh:${shopId}`).terminate('bench over').catch(() => undefined);
    await stopWorker();
  } catch (err) {
    print(`failed: ${(err as Error).stack ?? String(err)}`);
    throw err;
  } finally {
    await native.close().catch(() => undefined);
    await connection.close();
    await emu.close();
    // ioredis does not prefix KEYS' pattern.
    const leftover = await redis.keys(`${redis.options.keyPrefix ?? ''}*`);
    for (let i = 0; i < leftover.length; i += 1000) await redis.del(...leftover.slice(i, i + 1000).map((k) => k.slice((redis.options.keyPrefix ?? '').length)));
    redis.disconnect();
    await db.end();
    await dropDatabase(databaseUrl).catch(() => undefined);
    await dev?.stop();
  }
});
