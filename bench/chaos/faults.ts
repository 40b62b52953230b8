/**
 * Faults on a seeded schedule. Process faults (SIGKILL and restart, FLUSHALL, pg_terminate_backend) each run in
 * their own loop at the profile's interval, jittered by the seed, so they overlap one another as they would in a
 * bad hour; Shopify's and the webhooks' faults are the emulator's fault controls, set for the whole run (rates)
 * or switched on for short bursts (THROTTLED, latency). Source faults live in the traffic driver.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { seededRandom, type Random } from '../../src/domain/prng.js';
import type { FaultKind, Profile } from './options.js';
import type { Topology } from './topology.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What each fault kind did: how many times it fired, and a few figures it measured (downtime, rows). */
export class FaultLedger {
  readonly counts = new Map<FaultKind, number>();
  readonly notes = new Map<FaultKind, string[]>();
  readonly errors: string[] = [];

  add(kind: FaultKind, n = 1, note?: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
    if (note) {
      const list = this.notes.get(kind) ?? [];
      list.push(note);
      this.notes.set(kind, list);
    }
  }
}

/** Shopify's webhook retry schedule (8 retries over about 4 hours), compressed for a run of minutes. */
export const SHOPIFY_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000];

export async function emulatorControl(url: string, path: string, body: unknown = {}): Promise<unknown> {
  const res = await fetch(`${url}/_emulator${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`emulator ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

export interface RunningFaults {
  /** Stops every loop, waits for the fault in progress, and brings every component back up. */
  stop(): Promise<void>;
}

export async function startFaults(topo: Topology, profile: Profile, enabled: Set<FaultKind>, seed: number, ledger: FaultLedger, log: (s: string) => void): Promise<RunningFaults> {
  const rng = seededRandom(seed ^ 0x5eed);
  await emulatorControl(topo.emulatorUrl, '/webhooks/settings', { retryDelaysMs: SHOPIFY_RETRY_DELAYS_MS.map((d) => Math.round(d / profile.webhookRetryCompression)), timeoutMs: 5_000 });
  // Rates for the whole run, from the emulator's own seeded PRNG.
  await emulatorControl(topo.emulatorUrl, '/faults', {
    seed,
    errorRate5xx: enabled.has('shopify-5xx') ? 0.025 : 0,
    failAfterApply5xxRate: enabled.has('shopify-5xx') ? 0.025 : 0,
    webhookDuplicate: enabled.has('webhook-duplicate') ? 0.2 : 0,
    webhookReorder: enabled.has('webhook-reorder') ? 0.2 : 0,
    webhookDrop: enabled.has('webhook-drop') ? 0.05 : 0,
  });

  let running = true;
  const loops: Promise<void>[] = [];
  const adminDb = () => {
    const client = new pg.Client({ connectionString: topo.adminDatabaseUrl, connectionTimeoutMillis: 3000 });
    // A pg-restart may cut this connection mid-query: the query rejects; the event must not kill the harness.
    client.on('error', () => undefined);
    return client;
  };
  const jitter = (r: Random, every: number) => every * 1000 * (0.6 + 0.8 * r());

  /** One loop per kind: wait (jittered), fire, repeat; a failed fault is recorded, never fatal. */
  const loop = (kind: FaultKind, fire: (r: Random, n: number) => Promise<void>) => {
    const every = profile.every[kind];
    if (!enabled.has(kind) || every === undefined) return;
    const r = seededRandom(Math.floor(rng() * 2 ** 31));
    loops.push(
      (async () => {
        let n = 0;
        // The first of each kind comes early, so even the short profile has every kind at least once.
        await sleep(Math.min(jitter(r, every), 3000 + r() * every * 500));
        while (running) {
          const firedAt = Date.now();
          // A fault that cannot land now (its target is itself being restarted by another fault) is tried again.
          const this_ = n++;
          for (let attempt = 1; ; attempt++) {
            try {
              await fire(r, this_);
              break;
            } catch (e) {
              if (attempt < 5 && running) {
                await sleep(1000);
                continue;
              }
              ledger.errors.push(`${kind}: ${(e as Error).message}`);
              log(`fault ${kind} failed: ${(e as Error).message}`);
              break;
            }
          }
          // `every` is from one fault's start to the next (a restart that takes long eats into the wait).
          const until = firedAt + Math.max(jitter(r, every), Date.now() - firedAt + 500);
          while (running && Date.now() < until) await sleep(Math.min(250, until - Date.now()));
        }
      })(),
    );
  };

  loop('worker-kill', async (_r, n) => {
    // Alternate the two workers; the next kill waits until this one is back, so both are never down at once.
    const w = topo.workers[n % 2]!;
    const other = topo.workers[(n + 1) % 2]!;
    // The other one may itself be restarting (it exits on its own when PostgreSQL is down at its start).
    const until = Date.now() + 120_000;
    while (!other.ready && Date.now() < until) await sleep(200);
    if (!other.ready) throw new Error(`${other.spec.name} is not up: not killing ${w.spec.name} (never both at once)`);
    await w.restart('SIGKILL');
    ledger.add('worker-kill');
  });
  loop('server-kill', async (r) => {
    await topo.server.kill('SIGKILL');
    await sleep(200 + r() * 1500);
    await topo.server.start();
    ledger.add('server-kill');
  });
  loop('temporal-kill', async (r) => {
    const t0 = Date.now();
    await topo.temporal.kill('SIGKILL');
    await sleep(500 + r() * 2500);
    await topo.temporal.start();
    ledger.add('temporal-kill', 1, `${((Date.now() - t0) / 1000).toFixed(1)} s down`);
  });
  loop('redis-flush', async () => {
    const client = new Redis(topo.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined); // redis-restart may cut it; the flush is then tried again
    try {
      await client.connect();
      await client.flushall();
      ledger.add('redis-flush');
    } finally {
      client.disconnect();
    }
  });
  loop('redis-restart', async (r) => {
    await topo.redis.kill('SIGKILL');
    await sleep(200 + r() * 1500);
    await topo.redis.start();
    ledger.add('redis-restart');
  });
  loop('pg-terminate', async () => {
    const admin = adminDb();
    try {
      await admin.connect();
      const { rowCount } = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'inventory_sync' AND pid <> pg_backend_pid()`);
      ledger.add('pg-terminate', 1, `${rowCount ?? 0} connections`);
    } finally {
      await admin.end().catch(() => undefined);
    }
  });
  loop('pg-restart', async (r, n) => {
    // Alternate an immediate shutdown (SIGQUIT: no checkpoint, WAL replay at start, as after a crash) and a fast one.
    await topo.postgres.kill(n % 2 === 0 ? 'SIGQUIT' : 'SIGINT');
    await sleep(200 + r() * 1500);
    await topo.postgres.start();
    ledger.add('pg-restart');
  });
  loop('shopify-throttle', async (r, n) => {
    // A burst: every call THROTTLED for 1-4 s, alternately as HTTP 200 and as 429 with Retry-After.
    await emulatorControl(topo.emulatorUrl, '/faults', { forceThrottle: true, throttleHttpStatus: n % 2 === 0 ? 200 : 429, throttleRetryAfterSeconds: 1 });
    await sleep(1000 + r() * 3000);
    await emulatorControl(topo.emulatorUrl, '/faults', { forceThrottle: false });
    ledger.add('shopify-throttle');
  });
  loop('shopify-latency', async (r) => {
    // A spike: every call 0.5-2.5 s slower for 2-5 s.
    await emulatorControl(topo.emulatorUrl, '/faults', { latencyMs: Math.round(500 + r() * 2000) });
    await sleep(2000 + r() * 3000);
    await emulatorControl(topo.emulatorUrl, '/faults', { latencyMs: 0 });
    ledger.add('shopify-latency');
  });

  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await emulatorControl(topo.emulatorUrl, '/faults', { clear: true });
      // Everything back up (a restart may have been cut short by the end of the run).
      for (const p of [topo.postgres, topo.redis, topo.temporal, topo.server, ...topo.workers]) {
        if (!p.running) await p.start();
      }
    },
  };
}
