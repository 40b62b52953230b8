import type { FastifyInstance } from 'fastify';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCatalog } from '../../src/demo/seed-catalog.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { createGroupCommit } from '../../src/db/group-commit.js';
import { recordChangeGroups, type ChangeGroup, type GroupRecorded } from '../../src/db/source-changes.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * POST /sources/:source/events under concurrency: requests share transactions (group commit), and none is
 * answered before the transaction holding its event committed. Forced: the test holds a lock the commit needs,
 * sees the commit waiting on it in pg_stat_activity, and sees no answer and no committed row until it lets go.
 */
describe('source events: group commit', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let app: FastifyInstance;
  const metrics = createMetrics();
  const waiting = async () => (await metrics.groupCommitWaiting.get()).values.find((v) => v.labels.route === '/sources/:source/events')?.value ?? 0;
  const shopId = `gc-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const erp = `${shopId}-erp`;
  const env = { GC_SHOP_TOKEN: 'tok-gc', GC_SECRET: 'whsec', GC_ERP_TOKEN: 'erp-gc' };
  const config = testConfig({
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 } },
    shops: [{ id: shopId, domain, access_token_env: 'GC_SHOP_TOKEN', webhook_secret_env: 'GC_SECRET' }],
    sources: [{ name: erp, role: 'erp', type: 'postgres', token_env: 'GC_ERP_TOKEN' }],
  });
  const skus = Array.from({ length: 40 }, (_, i) => `GC-${i}`);

  /**
   * Locks this file's snapshot rows (made first, older than any event sent here) in a transaction of `holder`, so a
   * group's fold into them waits. Rows, not the table: other files write snapshots meanwhile, and must neither wait
   * on this test nor be counted as its waiters.
   */
  async function holdSnapshotRows(holder: PoolClient): Promise<void> {
    await holder.query('BEGIN');
    await holder.query(
      `INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at)
       SELECT $1, $2, sku, 'WH1', 0, '2000-01-01T00:00:00Z' FROM unnest($3::text[]) AS sku ON CONFLICT DO NOTHING`,
      [erp, shopId, skus],
    );
    await holder.query('SELECT 1 FROM source_snapshots WHERE source = $1 AND shop_id = $2 FOR UPDATE', [erp, shopId]);
  }
  /** How many backends wait on a lock `holder` holds. */
  async function blockedBy(holder: PoolClient): Promise<number> {
    const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return (await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rows[0]!.n;
  }

  beforeAll(async () => {
    svc = await connectTestServices({ poolSize: 10 });
    emu = await startEmulator({ port: 0 });
    await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: env.GC_SHOP_TOKEN, locations: ['WH1'], skus, initialAvailable: () => 0 });
    await svc.startWorker(svc.activities(config, createShopifyClients(config, { baseUrl: emu.url, env })));
    app = buildHttpServer({ db: svc.db, redis: svc.redis, config, temporal: svc.temporal, taskQueue: svc.taskQueue, metrics, logger: createLogger('silent'), env });
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await svc?.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('test over').catch(() => undefined);
    await app?.close();
    await svc?.close();
    await emu?.close();
  });

  it('forty concurrent single-event requests: no answer before their commit, then all 202 from a few transactions', { timeout: 60_000 }, async () => {
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/sources/${erp}/events`;
    // Hold this file's snapshot rows: a commit can insert into the change feed but not fold into the snapshot.
    const holder = await svc.db.connect();
    let answered = 0;
    let requests: Promise<{ status: number; body: { recorded: number } }>[] | undefined;
    try {
      await holdSnapshotRows(holder);
      const occurredAt = new Date().toISOString();
      requests = skus.map(async (sku, i) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${env.GC_ERP_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: [{ shopId, sku, locationId: 'WH1', quantity: 100 + i, occurredAt, eventId: `gc-${i}` }] }),
        });
        answered++;
        return { status: res.status, body: (await res.json()) as { recorded: number } };
      });
      // The first request's commit is waiting on our lock; every other request has arrived and queued behind it.
      await expect
        .poll(() => blockedBy(holder), { timeout: 20_000, interval: 50 })
        .toBe(1);
      await expect.poll(waiting, { timeout: 20_000, interval: 50 }).toBe(40);
      expect(answered).toBe(0);
      // Nothing is committed yet: another connection sees none of the events.
      const visible = (await svc.db.query('SELECT count(*)::int AS n FROM source_changes WHERE source = $1', [erp])).rows[0].n;
      expect(visible).toBe(0);
      expect(answered).toBe(0);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    const results = await Promise.all(requests!);
    expect(results.map((r) => r.status)).toEqual(skus.map(() => 202));
    expect(results.every((r) => r.body.recorded === 1)).toBe(true);
    // All forty rows, from few transactions: the first alone, then the ones queued behind it together.
    const { rows } = await svc.db.query<{ transactions: number; n: number }>('SELECT count(DISTINCT xmin::text)::int AS transactions, count(*)::int AS n FROM source_changes WHERE source = $1', [erp]);
    expect(rows[0]!.n).toBe(40);
    expect(rows[0]!.transactions).toBeLessThanOrEqual(3);
    const snap = (await svc.db.query('SELECT count(*)::int AS n FROM source_snapshots WHERE source = $1', [erp])).rows[0].n;
    expect(snap).toBe(40);
  });

  it('a malformed event in a forced group fails only its own request, naming the field; the others commit together', { timeout: 60_000 }, async () => {
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/sources/${erp}/events`;
    const send = (event: Record<string, unknown>) =>
      fetch(url, { method: 'POST', headers: { authorization: `Bearer ${env.GC_ERP_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ events: [event] }) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { code?: string; message?: string; details?: { field?: string } },
      }));
    const occurredAt = new Date().toISOString();
    const good = skus.slice(0, 10).map((sku, i) => ({ shopId, sku, locationId: 'WH1', quantity: 200 + i, occurredAt, eventId: `gm-${i}` }));
    // Values a schema of types alone lets through but PostgreSQL refuses (a year 0000, a NUL in text): before the
    // edge refused them, such a request failed its whole group, then alone with a 500.
    const bad: [Record<string, unknown>, string][] = [
      [{ ...good[0]!, eventId: 'gm-bad-1', occurredAt: '0000-06-01T00:00:00Z' }, 'events.0.occurredAt'],
      [{ ...good[0]!, eventId: 'gm-bad-2', sku: 'GC-\u0000' }, 'events.0.sku'],
    ];
    const holder = await svc.db.connect();
    let results: Promise<{ status: number; body: { code?: string; message?: string; details?: { field?: string } } }>[];
    try {
      await holdSnapshotRows(holder);
      const first = send(good[0]!);
      // The first commit waits on our lock; everything sent now queues behind it as one group.
      await expect.poll(() => blockedBy(holder), { timeout: 20_000, interval: 50 }).toBe(1);
      results = [first, ...good.slice(1, 5).map(send), ...bad.map(([e]) => send(e)), ...good.slice(5).map(send)];
      await expect.poll(waiting, { timeout: 20_000, interval: 50 }).toBe(10);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    const answers = await Promise.all(results);
    const refused = answers.slice(5, 7);
    expect(refused.map((a) => a.status)).toEqual([400, 400]);
    refused.forEach((a, i) => {
      expect(a.body).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field: bad[i]![1] } });
      expect(a.body.message).toContain(bad[i]![1]);
    });
    expect([...answers.slice(0, 5), ...answers.slice(7)].map((a) => a.status)).toEqual(good.map(() => 202));
    const { rows } = await svc.db.query<{ transactions: number; n: number }>(
      `SELECT count(DISTINCT xmin::text)::int AS transactions, count(*)::int AS n FROM source_changes WHERE source = $1 AND external_id LIKE 'gm-%'`,
      [erp],
    );
    expect(rows[0]).toEqual({ transactions: 2, n: 10 });
  });

  it('a value PostgreSQL refuses inside a group fails only its own item (the group is retried one by one)', async () => {
    const commit = createGroupCommit<ChangeGroup, GroupRecorded>({ commit: (groups) => recordChangeGroups(svc.db, groups) });
    const at = new Date().toISOString();
    const item = (sku: string, occurredAt = at) => ({ source: erp, changes: [{ shopId, sku, locationId: 'WH1', quantity: 1, occurredAt }] });
    // Submitted in one tick: the first goes alone, the other three as one group that fails and is retried item by item.
    const outcomes = await Promise.allSettled([commit.submit(item('GC-0')), commit.submit(item('GC-1')), commit.submit(item('GC-2', '0000-06-01T00:00:00Z')), commit.submit(item('GC-3'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(((outcomes[2] as PromiseRejectedResult).reason as { code: string }).code).toBe('22008');
  });
});
