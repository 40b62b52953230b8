import { fileURLToPath } from 'node:url';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { migrate } from '../../src/db/migrate.js';
import { dropDatabase } from '../../src/db/pool.js';
import { startDevServer, temporalAnswers, type RunningDevServer } from '../../src/temporal/dev-server.js';

/** Production workflows plus the benches' empty baseline (test/support/workflows/index.ts). */
const TEST_WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/**
 * Brings up what every test file needs, once per run: the Temporal dev server (or TEMPORAL_ADDRESS), an isolated
 * PostgreSQL database migrated to the latest schema, Redis, and one workflow bundle. Fails fast naming what is missing.
 */
const quietLogger = { info() {}, warn() {}, debug() {}, trace() {}, log() {}, error: console.error };

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    redisUrl: string;
    workflowBundlePath: string;
  }
}

/**
 * `temporalDefaults`: the dev server keeps Temporal's own continue-as-new thresholds (4,096 events or 4 MB). The
 * tests lower the event count to 200 so that continue-as-new paths run; the benches (which call this directly)
 * must not measure a workflow continuing as new every few seconds, which no deployment does.
 */
export default async function setup(project: TestProject, opts: { temporalDefaults?: boolean } = {}): Promise<() => Promise<void>> {
  const base = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const databaseUrl = `${base}/inventory_sync_test_${process.pid}_${Date.now().toString(36)}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not answering at ${redisUrl} (${(err as Error).message}). Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`, { cause: err });
  } finally {
    redis.disconnect();
  }
  try {
    await migrate(databaseUrl);
  } catch (err) {
    throw new Error(`PostgreSQL is not usable at ${base} (${(err as Error).message}). Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, { cause: err });
  }

  let server: RunningDevServer | undefined;
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress || !(await temporalAnswers(temporalAddress))) {
    server = await startDevServer({
      port: 0,
      headless: true,
      logFile: join(tmpdir(), `inventory-sync-test-temporal-${process.pid}.log`),
      // Small thresholds so continue-as-new paths run in tests.
      ...(opts.temporalDefaults ? {} : { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 200 } }),
      log: (l) => console.log(`[global-setup] ${l}`),
    });
    temporalAddress = server.address;
  }

  const workflowBundlePath = join(tmpdir(), `inventory-sync-workflows-${process.pid}.js`);
  try {
    const bundle = await bundleWorkflowCode({ workflowsPath: TEST_WORKFLOWS_PATH, logger: quietLogger });
    writeFileSync(workflowBundlePath, bundle.code);
  } catch (err) {
    await server?.stop();
    throw err;
  }

  project.provide('temporalAddress', temporalAddress);
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await server?.stop();
    await dropDatabase(databaseUrl).catch(() => undefined);
    rmSync(workflowBundlePath, { force: true });
  };
}
