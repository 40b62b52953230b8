import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { deltaSyncWorkflow } from '../../src/workflows/index.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/** A REST ERP: a change feed of `feed`, a snapshot of `readings`; `failAfter` answers 500 for that cursor. */
function startErp() {
  const state = {
    feed: [] as { shop: string; sku: string; location: string; quantity: number; occurred_at: string; cursor: string }[],
    readings: [] as { shop: string; sku: string; location: string; quantity: number }[],
    failAfter: undefined as string | undefined,
    requests: [] as string[],
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const after = url.searchParams.get('after');
    const limit = Number(url.searchParams.get('limit'));
    state.requests.push(`${url.pathname}?after=${after ?? ''}`);
    res.setHeader('content-type', 'application/json');
    if (url.pathname === '/changes') {
      if (after !== null && after === state.failAfter) {
        res.statusCode = 500;
        return res.end('{}');
      }
      const start = after === null ? 0 : state.feed.findIndex((c) => c.cursor === after) + 1;
      return res.end(JSON.stringify({ changes: state.feed.slice(start, start + limit) }));
    }
    if (url.pathname === '/snapshot') {
      const start = after === null ? 0 : Number(after);
      const page = state.readings.slice(start, start + limit);
      return res.end(JSON.stringify({ readings: page, next_cursor: start + limit < state.readings.length ? String(start + limit) : null }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  return new Promise<{ url: string; state: typeof state; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, state, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

describe('delta sync', () => {
  let svc: TestServices;
  let erp: Awaited<ReturnType<typeof startErp>>;
  const id = `ds${Date.now().toString(36)}`;
  const feedSource = `${id}-feed`;
  const httpSource = `${id}-http`;
  const legacySource = `${id}-legacy`;
  const shopId = `${id}-shop`;

  beforeAll(async () => {
    svc = await connectTestServices();
    erp = await startErp();
    const config = testConfig({
      inventory_sync: { delta_sync: { batch_size: 2 } },
      // The one shop, so every source is bound to it (rows for other shops are skipped: test/security/sync-bad-rows).
      shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'DS_TOKEN', webhook_secret_env: 'DS_SECRET' }],
      sources: [
        { name: feedSource, role: 'erp', type: 'postgres' },
        { name: httpSource, role: 'erp', type: 'http', url: erp.url },
        { name: legacySource, role: 'erp', type: 'http', url: erp.url, mode: 'full' },
      ],
    });
    await svc.startWorker(svc.activities(config, () => {
      throw new Error('delta sync never talks to Shopify');
    }));
  });
  afterAll(async () => {
    await svc?.close();
    await erp?.close();
  });

  const run = (source: string, mode: 'delta' | 'full' = 'delta') =>
    svc.temporal.workflow.execute(deltaSyncWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid(`sync-${source}`), args: [{ source, mode }] });
  const watermark = async (source: string) => (await svc.db.query('SELECT cursor FROM watermarks WHERE source = $1', [source])).rows[0]?.cursor as string | undefined;
  const at = new Date('2026-11-30T08:00:00Z').toISOString();

  it('does not skip a change whose transaction commits after a later change was read', async () => {
    const early = await svc.db.connect();
    try {
      // Transaction A takes its cursor first but stays open...
      await early.query('BEGIN');
      await early.query(`INSERT INTO source_changes (source, shop_id, sku, location_id, quantity, occurred_at) VALUES ($1, $2, 'LATE', 'WH1', 7, $3)`, [feedSource, shopId, at]);
      // ...while B commits a later change.
      await recordSourceChanges(svc.db, feedSource, [{ shopId, sku: 'EARLY', locationId: 'WH1', quantity: 3, occurredAt: at }]);

      const first = await run(feedSource);
      // The seed would read B, move the watermark past A's cursor and never see A. We wait for A.
      expect(first.read).toBe(0);
      expect(await watermark(feedSource)).toBeUndefined();

      await early.query('COMMIT');
    } finally {
      early.release();
    }
    const second = await run(feedSource);
    expect(second).toMatchObject({ read: 2, keysMarked: 2 });
    const third = await run(feedSource);
    expect(third.read).toBe(0);
    const { rows } = await svc.db.query(`SELECT xid::text || ':' || cursor::text AS c FROM source_changes WHERE source = $1 ORDER BY xid DESC, cursor DESC LIMIT 1`, [feedSource]);
    expect(await watermark(feedSource)).toBe(rows[0].c);
  });

  it('checkpoints after every batch, so a run that dies mid-way resumes from the last batch handed on', async () => {
    erp.state.feed = ['c1', 'c2', 'c3', 'c4', 'c5'].map((cursor, i) => ({ shop: shopId, sku: `SKU-${i % 3}`, location: 'WH1', quantity: i, occurred_at: at, cursor }));
    erp.state.failAfter = 'c2';
    const handle = await svc.temporal.workflow.start(deltaSyncWorkflow, { taskQueue: svc.taskQueue, workflowId: svc.uid('sync-crash'), args: [{ source: httpSource, mode: 'delta' }] });
    // The first batch (c1, c2) is handed on and checkpointed; the second keeps failing.
    await expect.poll(() => watermark(httpSource), { timeout: 15_000 }).toBe('c2');
    await expect.poll(() => erp.state.requests.filter((r) => r === '/changes?after=c2').length, { timeout: 15_000 }).toBeGreaterThan(0);
    await handle.terminate('simulated crash');

    erp.state.failAfter = undefined;
    erp.state.requests = [];
    const resumed = await run(httpSource);
    expect(erp.state.requests[0]).toBe('/changes?after=c2');
    expect(resumed).toMatchObject({ read: 3, cursor: 'c5' });
    expect(await watermark(httpSource)).toBe('c5');
    const { rows } = await svc.db.query('SELECT items_processed FROM watermarks WHERE source = $1', [httpSource]);
    expect(Number(rows[0].items_processed)).toBe(5);
  });

  it('dedupes changes per sku-location within a batch', async () => {
    erp.state.feed.push(
      { shop: shopId, sku: 'DUP', location: 'WH1', quantity: 1, occurred_at: at, cursor: 'c6' },
      { shop: shopId, sku: 'DUP', location: 'WH1', quantity: 2, occurred_at: at, cursor: 'c7' },
    );
    const result = await run(httpSource);
    expect(result).toMatchObject({ read: 2, keysMarked: 1, cursor: 'c7' });
  });

  it('full mode pages through a source without a change feed and hands on only what changed', async () => {
    erp.state.readings = [
      { shop: shopId, sku: 'A', location: 'WH1', quantity: 5 },
      { shop: shopId, sku: 'B', location: 'WH1', quantity: 6 },
      { shop: shopId, sku: 'C', location: 'WH1', quantity: 7 },
    ];
    expect(await run(legacySource, 'full')).toMatchObject({ batches: 2, read: 3, keysMarked: 3 });
    erp.state.readings[1]!.quantity = 4;
    expect(await run(legacySource, 'full')).toMatchObject({ batches: 2, read: 3, keysMarked: 1 });
    expect(await watermark(`${legacySource}#full`)).toBeUndefined();
    const { rows } = await svc.db.query('SELECT sku, quantity FROM source_snapshots WHERE source = $1 ORDER BY sku', [legacySource]);
    expect(rows).toEqual([
      { sku: 'A', quantity: 5 },
      { sku: 'B', quantity: 4 },
      { sku: 'C', quantity: 7 },
    ]);
  });
});
