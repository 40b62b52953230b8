import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildProcessEntry, spawnProcess } from '../reservations/fixtures/worker-process-build.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { buildCli, runCli } from '../operations/cli-child.js';

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

  it('brings the flows up, shows the table, answers the CLI in a second terminal, and exits cleanly on SIGTERM', async () => {
    const entry = await buildProcessEntry(fileURLToPath(new URL('./fixtures/demo-process.ts', import.meta.url)));
    built.push(entry);
    // The worker finds the run's prebuilt workflow bundle where a build puts it (else it would poll no workflows).
    mkdirSync(join(entry.dir, 'src/workers'), { recursive: true });
    copyFileSync(inject('workflowBundlePath'), join(entry.dir, 'src/workers/workflow-bundle.js'));
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

    // A second terminal: the CLI finds the configuration the demo wrote (no INVENTORY_SYNC_CONFIG) and reaches it.
    const cli = await buildCli();
    built.push(cli);
    const terminal = { DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: `${svc.taskQueue}-demo`, INVENTORY_SYNC_DATA_DIR: dataDir };
    // PORT is 0 here, so the emulator's webhooks reach nobody: reconciliation finds the order and starts its reservation.
    await demo.printed('shopper: order', 30_000);
    const orderId = /shopper: order (\d+)/.exec(demo.output())![1]!;
    const reconcile = runCli(cli.file, ['reconcile', '--shop', 'demo'], terminal);
    expect(await reconcile.exited, reconcile.stderr()).toBe(0);
    expect(reconcile.stderr()).toContain(`using the configuration npm start wrote: ${join(dataDir, 'inventory-sync.yaml')}`);
    expect(reconcile.stdout()).toMatch(/demo: run \d+, 10 key\(s\) checked/);
    // explain reads Shopify from the CLI's own process: the demo left it its emulator's URL and shop token.
    const explain = runCli(cli.file, ['explain', 'demo', 'TEE-RED-M', 'WH-EAST'], terminal);
    expect(await explain.exited, explain.stderr()).toBe(0);
    expect(explain.stderr()).toContain('and its Shopify emulator at http://127.0.0.1:8090');
    expect(explain.stdout()).toMatch(/Shopify now: available \d+/);
    const alerts = runCli(cli.file, ['alerts', 'list', '--shop', 'demo'], terminal);
    expect(await alerts.exited, alerts.stderr()).toBe(0);
    const status = runCli(cli.file, ['reservation', 'status', 'demo', orderId], terminal);
    expect(await status.exited, status.stderr()).toBe(0);
    expect(JSON.parse(status.stdout())).toMatchObject({ shopId: 'demo', orderId });
    demo.child.kill('SIGTERM');
    const code = await Promise.race([demo.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    if (code === 'still running') demo.child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(demo.output()).toContain('stopping:');
    expect(demo.output()).not.toMatch(/still stopping|Not running|Cannot close/);
  }, 150_000);
});
