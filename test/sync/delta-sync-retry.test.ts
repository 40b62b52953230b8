import { createServer, type Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import type { DirtyKeys } from '../../src/workflows/shop-refresh.js';
import { workflowIds } from '../../src/domain/keys.js';
import { createSources } from '../../src/runtime/sources.js';
import { deltaSyncWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * A pulled source's batch is stored, then handed to the shop's refresh. When the hand-off fails (Temporal refuses
 * the signal; a worker killed at that point is the same), the retried attempt finds the readings stored already:
 * it must hand them on all the same, or Shopify keeps the old number until the key changes again.
 */
describe('a delta sync batch retried after its hand-off failed', () => {
  let svc: TestServices;
  let server: Server;
  const id = `dsr${Date.now().toString(36)}`;
  const shopId = `${id}-shop`;
  const source = `${id}-erp`;
  const wholeSource = `${id}-wms`;
  const handed: DirtyKeys[] = [];
  let refusals = 1;

  beforeAll(async () => {
    svc = await connectTestServices();
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const after = url.searchParams.get('after');
      res.setHeader('content-type', 'application/json');
      if (url.pathname === '/snapshot') return void res.end(JSON.stringify({ readings: [{ shop: shopId, sku: 'WHOLE-1', location: 'WH1', quantity: 4 }], next_cursor: null }));
      const changes = after === null ? [{ shop: shopId, sku: 'LATE-1', location: 'WH1', quantity: 9, occurred_at: '2026-11-30T08:00:00Z', cursor: 'c1' }] : [];
      res.end(JSON.stringify({ changes }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const config = testConfig({
      shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'DSR_TOKEN', webhook_secret_env: 'DSR_SECRET' }],
      sources: [
        { name: source, role: 'erp', type: 'http', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` },
        { name: wholeSource, role: 'wms', type: 'http', mode: 'full', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` },
      ],
    });
    // The refresh hand-off as Temporal answers it, the first one refused.
    const real = svc.temporal.workflow;
    const workflow = new Proxy(real, {
      get(target, prop) {
        if (prop === 'signalWithStart') {
          return async (type: string, options: { signalArgs: [DirtyKeys] }) => {
            if (refusals > 0) {
              refusals -= 1;
              throw new Error('signal refused (test)');
            }
            handed.push(options.signalArgs[0]);
            return target.signalWithStart(type, options as never);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const temporal = new Proxy(svc.temporal, { get: (target, prop) => (prop === 'workflow' ? workflow : Reflect.get(target, prop, target)) }) as Client;
    await svc.startWorker(createActivities({
      db: svc.db, redis: svc.redis, config, sources: createSources(config, svc.db), temporal, taskQueue: svc.taskQueue,
      shopify: () => {
        throw new Error('this test stops at the hand-off');
      },
    }));
  });
  afterAll(async () => {
    await svc?.temporal.workflow.getHandle(workflowIds.refresh(shopId)).terminate('test over').catch(() => undefined);
    await svc?.close();
    await new Promise((r) => server?.close(r));
  });

  it('hands on the stored reading on the retry', { timeout: 60_000 }, async () => {
    const result = await svc.temporal.workflow.execute(deltaSyncWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('sync'), args: [{ source, mode: 'delta' }] });
    expect(refusals).toBe(0);
    const { rows } = await svc.db.query('SELECT quantity FROM source_snapshots WHERE source = $1 AND sku = $2', [source, 'LATE-1']);
    expect(rows).toEqual([{ quantity: 9 }]);
    expect(handed).toEqual([{ keys: [{ sku: 'LATE-1', locationId: 'WH1' }], trigger: `delta_sync:${source}` }]);
    expect(result).toMatchObject({ read: 1, keysMarked: 1 });
  });

  it('hands on the stored reading on the retry of a full sync\'s page too', { timeout: 60_000 }, async () => {
    refusals = 1;
    handed.length = 0;
    const result = await svc.temporal.workflow.execute(deltaSyncWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('sync'), args: [{ source: wholeSource, mode: 'full' }] });
    expect(refusals).toBe(0);
    expect(handed).toEqual([{ keys: [{ sku: 'WHOLE-1', locationId: 'WH1' }], trigger: `full_sync:${wholeSource}` }]);
    expect(result).toMatchObject({ read: 1, keysMarked: 1 });
  });
});
