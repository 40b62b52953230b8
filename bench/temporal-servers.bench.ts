/**
 * bench/temporal-servers: bench/flash-sale and bench/refresh, each against the Temporal server on PostgreSQL
 * (persistence and SQL visibility on the machine's PostgreSQL, as `inventory-sync temporal start --persistence
 * postgres` runs it) and against the CLI's dev server (SQLite in memory), in one run, alternating, so both see the
 * same machine. Each bench runs as it does alone (its own vitest process) with TEMPORAL_ADDRESS pointed at one
 * server; this file starts both servers and prints one table from their output.
 *
 * Prints per server: highest sustained orders/s, the empty workflow's rate on that server and the ratio (target
 * >= 0.5), the webhook ack p99 at sustained rates inside the server and as the sender saw it (target <= 50 ms),
 * and the refresh bench's event-to-Shopify p50/p99 and steady-state time for 10,000 keys.
 *
 * Run: npm run bench:temporal-servers   (knobs of the two benches pass through: BENCH_RATES, BENCH_STEP_SECONDS, ...)
 * BENCH_SERVERS=postgres or =dev runs one only; BENCH_ONLY=flash-sale or =refresh one bench only.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { it } from 'vitest';
import { dropDatabase } from '../src/db/pool.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { startPostgresServer } from '../src/temporal/postgres-server.js';

const SERVERS = (process.env.BENCH_SERVERS ?? 'postgres,dev').split(',');
const BENCHES = (process.env.BENCH_ONLY ?? 'flash-sale,refresh').split(',');

function runBench(name: string, temporalAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'bench/vitest.bench.config.ts', `bench/${name}`], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      process.stdout.write(c);
    });
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out));
  });
}

interface FlashFigures {
  sustained: number;
  emptyMean: number;
  ratio: number;
  serverAckP99: number;
  senderAckP99: number;
  toClaimP99: number;
}

/** Reads bench/flash-sale's table and summary lines. */
function flashFigures(out: string): FlashFigures | undefined {
  const steps = [...out.matchAll(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+\s+)?([\d.]+) ms \/\s*([\d.]+) ms\s+([\d.]+) ms\s+([\d.]+) ms(?:\s+[\d.]+ ms)?\s+(yes|no)\s*$/gm)].map((m) => ({
    rate: Number(m[1]),
    sender: Number(m[4]),
    server: Number(m[5]),
    p99: Number(m[7]),
    sustained: m[8] === 'yes',
  }));
  const within = steps.filter((s) => s.sustained);
  const empty = /mean ([\d.]+)/.exec(out);
  const ratio = /^ratio: ([\d.]+)/m.exec(out);
  if (!empty || !ratio) return undefined;
  return {
    sustained: within.reduce((m, s) => Math.max(m, s.rate), 0),
    emptyMean: Number(empty[1]),
    ratio: Number(ratio[1]),
    serverAckP99: within.length ? Math.max(...within.map((s) => s.server)) : NaN,
    senderAckP99: within.length ? Math.max(...within.map((s) => s.sender)) : NaN,
    toClaimP99: within.length ? Math.max(...within.map((s) => s.p99)) : NaN,
  };
}

/** Reads bench/refresh's summary lines. */
function refreshFigures(out: string): { steady?: string; latency?: string } {
  const steady = /\[bench\/refresh\] (steady state[^\n]*)/.exec(out)?.[1];
  const latency = /\[bench\/refresh\] ([^\n]*p99[^\n]*)/.exec(out)?.[1];
  return { ...(steady ? { steady } : {}), ...(latency ? { latency } : {}) };
}

const load = () => execFileSync('uptime').toString().trim();

/** Transactions committed in the Temporal server's two databases (ours alone: other users share the cluster). */
async function temporalCommits(postgresUrl: string, database: string): Promise<number> {
  const c = new pg.Client({ connectionString: `${postgresUrl}/postgres` });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('SELECT coalesce(sum(xact_commit), 0)::text AS n FROM pg_stat_database WHERE datname = ANY($1::text[])', [[database, `${database}_visibility`]]);
    return Number(rows[0]!.n);
  } finally {
    await c.end();
  }
}

it('flash-sale and refresh on the Temporal server on PostgreSQL and on the dev server', async () => {
  const postgresUrl = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const database = `isync_temporal_bench_${process.pid}`;
  const servers: { name: string; address: string; stop: () => Promise<void> }[] = [];
  const figures = new Map<string, { flash?: FlashFigures; refresh?: ReturnType<typeof refreshFigures>; loadBefore: string; loadAfter?: string; commits?: Record<string, string> }>();
  try {
    if (SERVERS.includes('postgres')) {
      const pg = await startPostgresServer({ postgresUrl, database, port: 0, headless: true, logFile: join(tmpdir(), `bench-temporal-postgres-${process.pid}.log`), log: console.log });
      servers.push({ name: 'postgres', address: pg.address, stop: pg.stop });
    }
    if (SERVERS.includes('dev')) {
      const dev = await startDevServer({ port: 0, headless: true, logFile: join(tmpdir(), `bench-temporal-dev-${process.pid}.log`), log: console.log });
      servers.push({ name: 'dev', address: dev.address, stop: dev.stop });
    }
    // Alternating: each bench on one server then the other, so a change in the machine's load hits both.
    for (const bench of BENCHES) {
      for (const server of servers) {
        const f = figures.get(server.name) ?? { loadBefore: load() };
        figures.set(server.name, f);
        console.log(`\n=== ${bench} on the ${server.name} server (${server.address}); ${load()}`);
        const commitsBefore = server.name === 'postgres' ? await temporalCommits(postgresUrl, database) : 0;
        const benchStarted = performance.now();
        const out = await runBench(bench, server.address);
        if (server.name === 'postgres') {
          const commits = (await temporalCommits(postgresUrl, database)) - commitsBefore;
          const seconds = (performance.now() - benchStarted) / 1000;
          const orders = [...out.matchAll(/^\s*\d+\s+(\d+)\s+(\d+)\s+(?:\d+\s+)?[\d.]+ ms \//gm)].reduce((n, m) => n + Number(m[2]), 0);
          f.commits = { ...f.commits, [bench]: `${commits} Temporal transactions in ${seconds.toFixed(0)} s (${(commits / seconds).toFixed(0)}/s mean)${bench === 'flash-sale' && orders ? `, ${orders} orders claimed` : ''}` };
        }
        if (bench === 'flash-sale') f.flash = flashFigures(out);
        else f.refresh = refreshFigures(out);
        f.loadAfter = load();
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    for (const db of [database, `${database}_visibility`]) await dropDatabase(`${postgresUrl}/${db}`).catch(() => undefined);
  }

  const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${x.toFixed(1)} ms`);
  console.log('\ntemporal-servers: the same benches on both Temporal servers, one run');
  console.log('server    sustained orders/s  empty wf/s  ratio (>= 0.5)  ack p99 server / sender at sustained (<= 50 ms)  order-to-claim p99');
  for (const [name, f] of figures) {
    const x = f.flash;
    console.log(
      `${name.padEnd(8)}  ${String(x?.sustained ?? 'n/a').padStart(18)}  ${(x?.emptyMean.toFixed(1) ?? 'n/a').padStart(10)}  ${(x?.ratio.toFixed(2) ?? 'n/a').padStart(14)}  ${`${ms(x?.serverAckP99)} / ${ms(x?.senderAckP99)}`.padStart(46)}  ${ms(x?.toClaimP99).padStart(18)}`,
    );
  }
  for (const [name, f] of figures) {
    console.log(`${name}: refresh ${f.refresh?.steady ?? 'n/a'}; ${f.refresh?.latency ?? 'n/a'}`);
    console.log(`${name}: load before ${f.loadBefore}; after ${f.loadAfter ?? 'n/a'}`);
    for (const [bench, line] of Object.entries(f.commits ?? {})) console.log(`${name}: PostgreSQL under Temporal during ${bench}: ${line}`);
  }
});
