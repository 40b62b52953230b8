import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { dropDatabase } from '../../src/db/pool.js';
import { startPostgresServer } from '../../src/temporal/postgres-server.js';
import { findGoBinary, UI_SERVER_BINARY } from '../../src/temporal/server-binaries.js';
import { freePort } from '../../src/temporal/dev-server.js';
import baseSetup from '../support/global-setup.js';

/**
 * The production topology's services for `npm run test:topology`: a Temporal server on PostgreSQL (persistence
 * and SQL visibility, in databases of this run's own, dropped afterwards), built into the cache when missing;
 * then the usual per-run database, Redis and workflow bundle, pointed at that server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgresUrl = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const database = `isync_temporal_t${process.pid}_${Date.now().toString(36)}`;
  const started = Date.now();
  const server = await startPostgresServer({
    postgresUrl,
    database,
    port: 0,
    // The Web UI when its server is built (`temporal install --ui`); CI builds only the server and schema tool.
    ...(findGoBinary(UI_SERVER_BINARY) ? { uiPort: await freePort() } : { headless: true }),
    logFile: join(tmpdir(), `inventory-sync-topology-temporal-${process.pid}.log`),
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 200 },
    startTimeoutMs: 120_000,
    log: (l) => console.log(`[topology-setup] ${l}`),
  });
  console.log(`[topology-setup] Temporal on PostgreSQL ready in ${Math.round((Date.now() - started) / 1000)} s`);
  process.env.TEMPORAL_ADDRESS = server.address;
  project.provide('temporalPersistence', 'postgres');
  project.provide('temporalUiUrl', server.uiUrl ?? '');
  let teardownBase: (() => Promise<void>) | undefined;
  try {
    teardownBase = await baseSetup(project);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return async () => {
    await teardownBase?.();
    await server.stop();
    for (const db of [server.databases.persistence, server.databases.visibility]) {
      await dropDatabase(`${postgresUrl}/${db}`).catch(() => undefined);
    }
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** 'postgres' when the run's Temporal server is the one on PostgreSQL. */
    temporalPersistence: string;
    /** The Web UI served against that server; '' when the UI server is not built. */
    temporalUiUrl: string;
  }
}
