import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncWithProgress } from '../../src/starters/cli/sync-commands.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * `inventory-sync sync` waits for a run whose step keeps failing (Temporal retries it without end). The operator
 * must see why at the terminal, not only in the worker's log (found by a walkthrough of docs/sources.md: a bad
 * row showed "0 read" and nothing else until the command was killed).
 */
describe('sync with progress, while its step fails', () => {
  let svc: TestServices;
  let server: Server;
  const id = `srn${Date.now().toString(36)}`;
  const source = `${id}-erp`;
  let config: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    svc = await connectTestServices();
    server = createServer((_req, res) => {
      res.statusCode = 500;
      res.end('{"error":"database is down"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    config = testConfig({
      shops: [{ id: `${id}-shop`, domain: `${id}-shop.myshopify.com`, access_token_env: 'SRN_TOKEN', webhook_secret_env: 'SRN_SECRET' }],
      sources: [{ name: source, role: 'erp', type: 'http', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }],
    });
    await svc.startWorker(svc.activities(config, () => {
      throw new Error('a sync never talks to Shopify');
    }));
  });
  afterAll(async () => {
    await svc?.close();
    await new Promise((r) => server?.close(r));
  });

  it('tells each new failure once, with its code and how to stop the run', { timeout: 60_000 }, async () => {
    const notices: string[] = [];
    const progress: string[] = [];
    const run = syncWithProgress(svc.temporal, svc.db, config, svc.taskQueue, source, false, { update: (done, _total, note) => void progress.push(`${done} ${note}`), stop: () => undefined }, false, (l) => notices.push(l));
    run.catch(() => undefined);
    await expect.poll(() => notices.length, { timeout: 30_000, interval: 200 }).toBeGreaterThan(0);
    expect(notices[0]).toMatch(new RegExp(`^sync ${source}: syncBatch failed \\(attempt \\d+\\): ISYNC_SOURCE_FAILED: .*HTTP 500`));
    const workflowId = /--workflow-id '([^']+)'/.exec(notices[0]!)?.[1];
    expect(workflowId).toMatch(new RegExp(`^delta-sync:${source}:manual-`));
    // Later attempts fail the same way: not told again.
    await new Promise((r) => setTimeout(r, 4500));
    expect(notices).toHaveLength(1);
    await svc.temporal.workflow.getHandle(workflowId!).cancel();
    await expect(run).rejects.toThrow();
  });
});
