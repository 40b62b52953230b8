import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildProcessEntry, spawnProcess } from '../reservations/fixtures/worker-process-build.js';
import { connectTestServices, type TestServices } from '../support/services.js';

/**
 * `npm start` runs the demo until Ctrl-C or SIGTERM. It once stayed up after SIGTERM: the SDK's own signal
 * handler drained the worker while the demo's stop() failed on it and stopped Temporal under it. Here the demo
 * runs against this run's Temporal, PostgreSQL and Redis, and must stop by itself within seconds of SIGTERM.
 */
describe('npm start (the demo)', () => {
  let svc: TestServices;
  const built: { dir: string }[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'isync-demo-'));
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => {
    await svc.temporal.workflow.getHandle('refresh:demo').terminate('test over').catch(() => undefined);
    for (const b of built) rmSync(b.dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    await svc?.close();
  });

  it('brings the flows up, shows the table, and exits cleanly on SIGTERM', async () => {
    const entry = await buildProcessEntry(fileURLToPath(new URL('./fixtures/demo-process.ts', import.meta.url)));
    built.push(entry);
    const demo = spawnProcess(entry.file, {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: `${svc.redisPrefix}demo:`,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `${svc.taskQueue}-demo`,
      INVENTORY_SYNC_DATA_DIR: dataDir,
      PORT: '0',
      METRICS_PORT: '0',
    });
    await demo.printed('sku/location', 90_000);
    expect(demo.output()).toContain(`Temporal: using the server at ${inject('temporalAddress')}`);
    demo.child.kill('SIGTERM');
    const code = await Promise.race([demo.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    if (code === 'still running') demo.child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(demo.output()).toContain('stopping:');
    expect(demo.output()).not.toMatch(/still stopping|Not running|Cannot close/);
  }, 150_000);
});
