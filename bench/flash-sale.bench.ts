/**
 * bench/flash-sale: Shopify orders at a rising rate through the real path: orders placed in the emulator, their
 * signed orders/create webhooks posted to our HTTP server (concurrently, as Shopify delivers), one reservation
 * workflow per order that reads the fulfillment orders, claims and marks keys dirty, on one worker.
 *
 * Prints: webhook acknowledgement p99 (target <= 50 ms), order-to-claim p50/p99, the highest sustained
 * orders/s, and the same Temporal server's rate for an empty workflow started the same way (signal-with-start)
 * in the same run (target ratio >= 0.5).
 *
 * A step is sustained when, 3 s after it ends, >= 99% of its orders are claimed and their order-to-claim p99 is
 * <= 2 s. Services come from test/support/global-setup.ts, called here so the bench config stays as it is.
 *
 * Knobs: BENCH_RATES (orders/s, comma-separated), BENCH_STEP_SECONDS, BENCH_SKUS, BENCH_EMPTY_SECONDS.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, it } from 'vitest';
import { createActivities, type Activities } from '../src/activities/index.js';
import { createPool } from '../src/db/pool.js';
import { createRedis } from '../src/redis/client.js';
import { createSources } from '../src/runtime/sources.js';
import { signWebhook } from '../src/shopify/emulator/index.js';
import { createInventoryWorker } from '../src/workers/worker.js';
import globalSetup from '../test/support/global-setup.js';
import { startRig, type Rig } from '../test/reservations/rig.js';
import type { TestServices } from '../test/support/services.js';

const RATES = (process.env.BENCH_RATES ?? '10,25,50,100,150,200').split(',').map(Number);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 5);
const SKUS = Number(process.env.BENCH_SKUS ?? 50);
const EMPTY_SECONDS = Number(process.env.BENCH_EMPTY_SECONDS ?? 5);

let teardown: (() => Promise<void>) | undefined;
const provided: Record<string, string> = {};
let svc: TestServices;
let rig: Rig;

async function benchServices(): Promise<TestServices> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const db = createPool(provided.databaseUrl!, 20);
  const redisPrefix = `isync-bench:${randomUUID().slice(0, 8)}:`;
  const redis = createRedis(provided.redisUrl!, redisPrefix);
  const connection = await Connection.connect({ address: provided.temporalAddress! });
  const temporal = new Client({ connection });
  const taskQueue = `bench-${randomUUID()}`;
  const workers: { worker: Worker; run: Promise<void>; native: NativeConnection }[] = [];
  return {
    db,
    redis,
    redisPrefix,
    temporal,
    taskQueue,
    uid: (prefix = 't') => `${prefix}-${randomUUID().slice(0, 8)}`,
    activities: (config, shopify) => createActivities({ db, redis, config, sources: createSources(config, db), shopify, temporal, taskQueue }),
    async startWorker(activities: Activities) {
      const native = await NativeConnection.connect({ address: provided.temporalAddress! });
      const worker = await createInventoryWorker({ connection: native, namespace: 'default', taskQueue, activities, workflowBundlePath: provided.workflowBundlePath!, overrides: { shutdownGraceTime: '2 seconds' } });
      workers.push({ worker, run: worker.run(), native });
      return worker;
    },
    async close() {
      for (const w of workers) {
        if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
        await w.run.catch(() => undefined);
        await w.native.close();
      }
      redis.disconnect();
      await connection.close();
      await db.end();
    },
  };
}

beforeAll(async () => {
  teardown = await globalSetup({ provide: (k: string, v: string) => void (provided[k] = v) } as never);
  svc = await benchServices();
  rig = await startRig({ onHand: 1_000_000, skus: Array.from({ length: SKUS }, (_, i) => `FLASH-${i}`), webhooks: false, plan: 'enterprise', ttlSeconds: 3600 }, svc);
}, 300_000);

afterAll(async () => {
  await rig?.close();
  await svc?.close();
  await teardown?.();
});

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

it('flash-sale: webhook ack, order-to-claim, sustained orders/s vs an empty workflow', async () => {
  const acks: number[] = [];
  const toClaimAll: number[] = [];
  const steps: { rate: number; offered: number; claimed: number; p50: number; p99: number; ackP99: number; sustained: boolean }[] = [];
  let n = 0;
  const failures = new Map<number, number>();

  for (const rate of RATES) {
    const total = Math.round(rate * STEP_SECONDS);
    const sentAt = new Map<string, number>();
    const stepAcks: number[] = [];
    const inflight: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sku = `FLASH-${n++ % SKUS}`;
      const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku, quantity: 1 }] });
      const orderId = placed.id.split('/').pop()!;
      const body = JSON.stringify(placed.rest);
      sentAt.set(orderId, Date.now());
      const t0 = performance.now();
      inflight.push(
        fetch(`${rig.url}/webhooks/shopify`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-shopify-topic': 'orders/create',
            'x-shopify-hmac-sha256': signWebhook(body, rig.secret),
            'x-shopify-shop-domain': rig.domain,
            'x-shopify-webhook-id': randomUUID(),
          },
        }).then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 200) failures.set(res.status, (failures.get(res.status) ?? 0) + 1);
          stepAcks.push(performance.now() - t0);
        }),
      );
    }
    await Promise.all(inflight);
    await new Promise((r) => setTimeout(r, 3000));
    const { rows } = await svc.db.query<{ order_id: string; at: Date }>(
      'SELECT order_id, min(updated_at) AS at FROM claim_lines WHERE shop_id = $1 AND order_id = ANY($2::text[]) GROUP BY order_id',
      [rig.shopId, [...sentAt.keys()]],
    );
    const toClaim = rows.map((r) => r.at.getTime() - sentAt.get(r.order_id)!);
    acks.push(...stepAcks);
    toClaimAll.push(...toClaim);
    const p99 = pct(toClaim, 99);
    steps.push({ rate, offered: total, claimed: rows.length, p50: pct(toClaim, 50), p99, ackP99: pct(stepAcks, 99), sustained: rows.length >= 0.99 * total && p99 <= 2000 });
  }

  // The same server, the same start path (signal-with-start), a workflow that does nothing: closed loop, 64 at once.
  const emptyDeadline = performance.now() + EMPTY_SECONDS * 1000;
  let emptyDone = 0;
  const emptyStart = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < emptyDeadline) {
        const handle = await svc.temporal.workflow.signalWithStart('emptyBaselineWorkflow', {
          workflowId: `bench-empty-${randomUUID()}`,
          taskQueue: svc.taskQueue,
          args: [],
          signal: 'go',
          signalArgs: [],
        });
        await handle.result();
        emptyDone++;
      }
    }),
  );
  const emptyRate = emptyDone / ((performance.now() - emptyStart) / 1000);

  const best = steps.filter((s) => s.sustained).reduce((m, s) => Math.max(m, s.rate), 0);
  console.log('\nflash-sale (orders/create webhooks posted concurrently; 1 worker; enterprise plan shop)');
  console.log('rate/s  offered  claimed  ack p99     to-claim p50  to-claim p99  sustained');
  for (const s of steps) {
    console.log(
      `${String(s.rate).padStart(6)}  ${String(s.offered).padStart(7)}  ${String(s.claimed).padStart(7)}  ${ms(s.ackP99).padStart(9)}  ${ms(s.p50).padStart(12)}  ${ms(s.p99).padStart(12)}  ${s.sustained ? 'yes' : 'no'}`,
    );
  }
  console.log(`webhook ack p99 (all steps): ${ms(pct(acks, 99))} (target <= 50 ms); non-200 answers: ${JSON.stringify(Object.fromEntries(failures))}`);
  console.log(`order-to-claim (all claimed): p50 ${ms(pct(toClaimAll, 50))}, p99 ${ms(pct(toClaimAll, 99))}`);
  console.log(`highest sustained: ${best} orders/s`);
  console.log(`empty workflow (signal-with-start + completion, same server): ${emptyRate.toFixed(1)} workflows/s`);
  console.log(`ratio: ${(best / emptyRate).toFixed(2)} (target >= 0.5)`);
});
