import { connect, createServer, type AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import type { HttpDeps } from '../../src/starters/http/deps.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { claimRefreshHandoffs } from '../../src/db/handoffs.js';
import { drainHandoffs } from '../../src/starters/http/handoffs.js';
import { HANDOFF_DEADLINE_MS } from '../../src/temporal/handoff.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

describe('POST /sources/:source/events', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  let app: FastifyInstance;
  let deps: HttpDeps;
  let catalog: SeededCatalog;
  const shopId = `evt-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const erp = `${shopId}-erp`;
  const wms = `${shopId}-wms`;
  const env = { EVT_SHOP_TOKEN: 'tok-evt', EVT_SECRET: 'whsec', EVT_ERP_TOKEN: 'erp-secret', EVT_WMS_TOKEN: 'wms-secret', EVT_OPERATOR_TOKEN: 'op-secret' };
  const config = testConfig({
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 1 }, aggregation: { coalesce_window_ms: 50 } },
    shops: [{ id: shopId, domain, access_token_env: 'EVT_SHOP_TOKEN', webhook_secret_env: 'EVT_SECRET' }],
    sources: [
      { name: erp, role: 'erp', type: 'postgres', token_env: 'EVT_ERP_TOKEN' },
      { name: wms, role: 'wms', type: 'postgres', token_env: 'EVT_WMS_TOKEN' },
    ],
    operator: { token_env: 'EVT_OPERATOR_TOKEN' },
  });
  let clock = Date.UTC(2026, 10, 30, 9, 0, 0);
  const at = () => new Date((clock += 1000)).toISOString();

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0 });
    catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: env.EVT_SHOP_TOKEN, locations: ['WH1'], skus: ['MUG', 'CAP'], initialAvailable: () => 0 });
    await svc.startWorker(svc.activities(config, createShopifyClients(config, { baseUrl: emu.url, env })));
    deps = { db: svc.db, redis: svc.redis, config, temporal: svc.temporal, taskQueue: svc.taskQueue, metrics: createMetrics(), logger: createLogger('silent'), env };
    app = buildHttpServer(deps);
  });
  afterAll(async () => {
    await svc?.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('test over').catch(() => undefined);
    await app?.close();
    await svc?.close();
    await emu?.close();
  });

  const post = (source: string, body: unknown, token: string | null = env.EVT_ERP_TOKEN, server: FastifyInstance = app) =>
    server.inject({ method: 'POST', url: `/sources/${source}/events`, payload: body as object, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const available = (sku: string) => {
    const ids = catalog.ids.get(`${sku}|WH1`)!;
    return emu.emulator.getLevel(domain, ids.inventoryItemId, ids.locationId).available;
  };
  const event = (sku: string, quantity: number, extra: Record<string, unknown> = {}) => ({ shopId, sku, locationId: 'WH1', quantity, occurredAt: at(), ...extra });

  it('answers 202 once the events are recorded, and the shop refresh pushes the new ATS to Shopify', async () => {
    const res = await post(erp, { events: [event('MUG', 40), event('CAP', 12)] });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'accepted', recorded: 2, duplicates: 0, unmapped: [], dirty: { [shopId]: 2 } });
    const { rows } = await svc.db.query('SELECT sku, quantity FROM source_snapshots WHERE source = $1 ORDER BY sku', [erp]);
    expect(rows).toEqual([
      { sku: 'CAP', quantity: 12 },
      { sku: 'MUG', quantity: 40 },
    ]);
    await expect.poll(() => [available('MUG'), available('CAP')], { timeout: 15_000 }).toEqual([39, 11]);

    const wmsRes = await post(wms, { events: [event('MUG', 10)] }, env.EVT_WMS_TOKEN);
    expect(wmsRes.statusCode).toBe(202);
    await expect.poll(() => available('MUG'), { timeout: 15_000 }).toBe(29);
  });

  it('events for an unmapped SKU are accepted, reported in the answer, the audit log and the metric, and do not hold back the rest', async () => {
    const res = await post(erp, { events: [event('GHOST', 5), event('MUG', 50)] });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ recorded: 2, unmapped: [{ index: 0, shopId, sku: 'GHOST', locationId: 'WH1' }], dirty: { [shopId]: 1 } });
    await expect.poll(() => available('MUG'), { timeout: 15_000 }).toBe(39);
    const { rows } = await svc.db.query(`SELECT outcome, error_code, trigger FROM audit_log WHERE shop_id = $1 AND sku = 'GHOST'`, [shopId]);
    expect(rows).toEqual([{ outcome: 'unmapped', error_code: 'ISYNC_UNKNOWN_SKU', trigger: `source_event:${erp}` }]);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${env.EVT_OPERATOR_TOKEN}` } });
    expect(metrics.body).toContain(`isync_source_events_total{source="${erp}",outcome="unmapped"} 1`);
  });

  it('an event repeated with the same eventId is recorded once', async () => {
    const e = event('CAP', 20, { eventId: 'erp-evt-1' });
    expect((await post(erp, { events: [e] })).json()).toMatchObject({ recorded: 1, duplicates: 0 });
    expect((await post(erp, { events: [e] })).json()).toMatchObject({ recorded: 0, duplicates: 1 });
    const { rows } = await svc.db.query(`SELECT count(*)::int AS n FROM source_changes WHERE source = $1 AND external_id = 'erp-evt-1'`, [erp]);
    expect(rows[0].n).toBe(1);
  });

  it('an unknown source gets the same 401 as a wrong token', async () => {
    const res = await post('nobody', { events: [event('MUG', 1)] });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual((await post(erp, { events: [event('MUG', 1)] }, 'guess')).json());
  });

  it('a missing token, a wrong one, or another source\'s token is 401 and records nothing', async () => {
    const before = await svc.db.query('SELECT count(*)::int AS n FROM source_changes WHERE source = $1', [erp]);
    for (const token of [null, 'guess', env.EVT_WMS_TOKEN]) {
      const res = await post(erp, { events: [event('MUG', 1)] }, token);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'ISYNC_UNAUTHORIZED' });
    }
    const after = await svc.db.query('SELECT count(*)::int AS n FROM source_changes WHERE source = $1', [erp]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('a bad payload is 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ events: [event('MUG', 1), event('MUG', 2.5)] }, 'events.1.quantity'],
      [{ events: [{ ...event('MUG', 1), occurredAt: 'yesterday' }] }, 'events.0.occurredAt'],
      [{ events: [{ sku: 'MUG', locationId: 'WH1', quantity: 1, occurredAt: at() }] }, 'events.0.shopId'],
      [{ events: [] }, 'events'],
      [{}, 'events'],
    ];
    for (const [body, field] of cases) {
      const res = await post(erp, body);
      expect(res.statusCode, field).toBe(400);
      expect(res.json()).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field } });
      expect(res.json().message).toContain(field);
    }
  });

  const outboxRows = async (sku: string) =>
    (await svc.db.query<{ trigger: string }>('SELECT trigger FROM refresh_handoffs WHERE shop_id = $1 AND sku = $2', [shopId, sku])).rows;

  it('when Temporal answers slowly, the answer is still a prompt 202 (the hand-off waits in the outbox), and the event reaches Shopify once swept', { timeout: 60_000 }, async () => {
    // A proxy in front of the run's Temporal that holds every byte towards it for 4 s: a frontend that is up but slow.
    const [host, port] = inject('temporalAddress').split(':');
    const slowProxy = createServer((client) => {
      const upstream = connect(Number(port), host);
      client.on('data', (chunk) => void setTimeout(() => upstream.write(chunk), 4000));
      upstream.on('data', (chunk) => client.write(chunk));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => slowProxy.listen(0, '127.0.0.1', resolve));
    // The earlier tests' hand-offs of CAP are done (on a loaded machine the main server's sweeper can still be at it).
    await expect.poll(() => outboxRows('CAP'), { timeout: 15_000 }).toEqual([]);
    const slowClient = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${(slowProxy.address() as AddressInfo).port}` }) });
    const slow = buildHttpServer({ ...deps, temporal: slowClient });
    try {
      const started = Date.now();
      const res = await post(erp, { events: [event('CAP', 35, { eventId: 'erp-evt-slow' })] }, env.EVT_ERP_TOKEN, slow);
      expect(res.statusCode).toBe(202);
      // Not bounded by Temporal at all: the answer follows the commit.
      expect(Date.now() - started).toBeLessThan(HANDOFF_DEADLINE_MS);
      expect(await outboxRows('CAP')).toEqual([{ trigger: `source_event:${erp}` }]);
    } finally {
      // Its sweeper stops (waiting out the hand-off it is trying), leaving the row to another process's sweep.
      await slow.close();
      await slowClient.connection.close().catch(() => undefined);
      slowProxy.close();
    }
    await drainHandoffs(deps);
    expect(await outboxRows('CAP')).toEqual([]);
    // Nothing is lost: the event is recorded and reaches Shopify (35 - 1 buffer).
    await expect.poll(() => available('CAP'), { timeout: 40_000 }).toBe(34);
  });

  it('a hand-off claimed by a sweeper that died waits out its lease, then any sweeper hands it off', async () => {
    const { rows } = await svc.db.query<{ id: string }>(`INSERT INTO refresh_handoffs (shop_id, sku, location_id, trigger) VALUES ($1, 'MUG', 'WH1', 'lease-test') RETURNING id::text`, [shopId]);
    const id = rows[0]!.id;
    // A sweeper claims it and dies before handing it off.
    expect((await claimRefreshHandoffs(svc.db, { shops: [shopId], limit: 10, minAgeMs: 0, leaseMs: 3_600_000 })).map((r) => r.id)).toEqual([id]);
    expect((await drainHandoffs(deps)).refresh).toBe(0);
    expect(await outboxRows('MUG')).toEqual([{ trigger: 'lease-test' }]);
    // Its lease runs out (forced, not waited for): the next sweep takes the row.
    await svc.db.query(`UPDATE refresh_handoffs SET claimed_until = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(await drainHandoffs(deps)).toMatchObject({ refresh: 1, failed: false });
    expect(await outboxRows('MUG')).toEqual([]);
  });

  // Last in this file. Its connection is deliberately left open: the SDK's gRPC retry interceptor keeps a backoff
  // timer for the abandoned call, and if the connection were closed first that timer throws "Channel has been shut
  // down" into the test run (seen in CI while the file's afterAll ran). On an open channel the retry just fails.
  it('when Temporal is down the events are answered 202 with their hand-off in the outbox, and the sweeper hands it off once Temporal answers', { timeout: 60_000 }, async () => {
    // A real client on a connection to a port nothing listens on, as a Temporal outage looks to the server.
    const dead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 200 }) });
    const down = buildHttpServer({ ...deps, temporal: dead });
    try {
      const res = await post(erp, { events: [event('CAP', 33, { eventId: 'erp-evt-down' }), event('GHOST', 4)] }, env.EVT_ERP_TOKEN, down);
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ status: 'accepted', recorded: 2, dirty: { [shopId]: 1 } });
      const { rows } = await svc.db.query(`SELECT quantity FROM source_snapshots WHERE source = $1 AND sku = 'CAP'`, [erp]);
      expect(rows[0].quantity).toBe(33);
      // The mapped key waits in the outbox; the unmapped one has nothing to hand off.
      expect(await outboxRows('CAP')).toEqual([{ trigger: `source_event:${erp}` }]);
      expect(await outboxRows('GHOST')).toEqual([]);
    } finally {
      // Waits for the sweep the request kicked off, which Temporal being down failed.
      await down.close();
    }
    expect(await outboxRows('CAP')).toHaveLength(1);
    // Temporal answers again (a server whose Temporal is up sweeps): the key reaches the shop's refresh, then Shopify.
    const swept = await drainHandoffs(deps);
    expect(swept.failed).toBe(false);
    expect(await outboxRows('CAP')).toEqual([]);
    await expect.poll(() => available('CAP'), { timeout: 40_000 }).toBe(32);
  });
});
