import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, inject } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createPool, type Db } from '../../src/db/pool.js';
import { createRedis, type RedisClient } from '../../src/redis/client.js';
import { createInventoryWorker } from '../../src/workers/worker.js';
import { createActivities, type ActivityDeps, type Activities } from '../../src/activities/index.js';
import { createSources } from '../../src/runtime/sources.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';

/**
 * Real services for one test file: the run's PostgreSQL database, Redis under a prefix of this file's own,
 * and the run's Temporal server with a task queue of this file's own.
 */
export interface TestServices {
  db: Db;
  redis: RedisClient;
  redisPrefix: string;
  temporal: Client;
  taskQueue: string;
  /** A fresh id for shops, orders and workflow ids, so files and tests never collide. */
  uid(prefix?: string): string;
  startWorker(activities: Activities): Promise<Worker>;
  /** The production activity set wired to this file's services and the given configuration and Shopify. */
  activities(config: Config, shopify: ActivityDeps['shopify']): Activities;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export interface ServiceAddresses {
  databaseUrl: string;
  redisUrl: string;
  temporalAddress: string;
  workflowBundlePath: string;
}

/**
 * Connects to the run's services. Tests get the addresses from the global setup through `inject`; benchmarks,
 * which call the global setup themselves, pass them in.
 */
export async function connectTestServices(opts: { addresses?: ServiceAddresses; logLevel?: 'WARN' | 'ERROR'; poolSize?: number; prefix?: string } = {}): Promise<TestServices> {
  const at: ServiceAddresses = opts.addresses ?? {
    databaseUrl: inject('databaseUrl'),
    redisUrl: inject('redisUrl'),
    temporalAddress: inject('temporalAddress'),
    workflowBundlePath: inject('workflowBundlePath'),
  };
  if (!runtimeInstalled) {
    // Worker state chatter drowns test output; warnings and errors still show.
    Runtime.install({ logger: new DefaultLogger(opts.logLevel ?? 'WARN') });
    runtimeInstalled = true;
  }
  const prefix = opts.prefix ?? 'test';
  const db = createPool(at.databaseUrl, opts.poolSize ?? 5);
  const redisPrefix = `isync-${prefix}:${randomUUID().slice(0, 8)}:`;
  const redis = createRedis(at.redisUrl, redisPrefix);
  const connection = await Connection.connect({ address: at.temporalAddress });
  const temporal = new Client({ connection });
  const taskQueue = `${prefix}-${randomUUID()}`;
  const workers: { worker: Worker; run: Promise<void>; native: NativeConnection }[] = [];
  return {
    db,
    redis,
    redisPrefix,
    temporal,
    taskQueue,
    uid: (prefix = 't') => `${prefix}-${randomUUID().slice(0, 8)}`,
    activities(config, shopify) {
      return createActivities({ db, redis, config, sources: createSources(config, db), shopify, temporal, taskQueue });
    },
    async startWorker(activities) {
      const native = await NativeConnection.connect({ address: at.temporalAddress });
      const worker = await createInventoryWorker({
        connection: native,
        namespace: 'default',
        taskQueue,
        activities,
        workflowBundlePath: at.workflowBundlePath,
        overrides: { shutdownGraceTime: '2 seconds' },
      });
      workers.push({ worker, run: worker.run(), native });
      return worker;
    },
    async close() {
      for (const w of workers) {
        if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
        await w.run.catch(() => undefined);
        await w.native.close();
      }
      // ioredis does not prefix KEYS patterns: '*' alone listed every key of the shared Redis (other runs' too;
      // ~100,000 overflowed the stack in del(...)). Full names come back, and del() would prefix them again.
      const keys = await redis.keys(`${redisPrefix}*`);
      for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000).map((k) => k.slice(redisPrefix.length)));
      redis.disconnect();
      await connection.close();
      await db.end();
    },
  };
}

/** A validated configuration with the given overrides, as the YAML loader would produce it. */
export function testConfig(raw: Record<string, unknown> = {}): Config {
  return configSchema.parse(raw);
}

/**
 * For a file that needs the run's services and an emulator of its own: registers the hooks that connect and
 * close them. Read `svc` and `emu` inside tests and hooks (they are set by the time those run).
 */
export function useServicesAndEmulator(): { readonly svc: TestServices; readonly emu: RunningEmulator } {
  const held: { svc?: TestServices; emu?: RunningEmulator } = {};
  beforeAll(async () => {
    held.svc = await connectTestServices();
    held.emu = await startEmulator({ port: 0 });
  });
  afterAll(async () => {
    await held.svc?.close();
    await held.emu?.close();
  });
  return {
    get svc() {
      return held.svc!;
    },
    get emu() {
      return held.emu!;
    },
  };
}
