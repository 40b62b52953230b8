import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUANTITY } from '../../src/domain/quantity.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/** What the edge refuses before anything is recorded (issue 11): ranges, clocks, pulled sources, unknown shops. */
describe('POST /sources/:source/events: validation at the edge', () => {
  let svc: TestServices;
  let app: FastifyInstance;
  const shopId = `edge-${Date.now().toString(36)}`;
  const erp = `${shopId}-erp`;
  const pulled = `${shopId}-pulled`;
  const env = { EDGE_SHOP_TOKEN: 't', EDGE_SECRET: 's', EDGE_ERP_TOKEN: 'erp-secret', EDGE_PULLED_TOKEN: 'pulled-secret' };
  const config = testConfig({
    inventory_sync: { source_events: { max_clock_skew_seconds: 120 } },
    shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'EDGE_SHOP_TOKEN', webhook_secret_env: 'EDGE_SECRET' }],
    sources: [
      { name: erp, role: 'erp', type: 'postgres', token_env: 'EDGE_ERP_TOKEN' },
      { name: pulled, role: 'wms', type: 'http', url: 'http://127.0.0.1:9/wms', token_env: 'EDGE_PULLED_TOKEN' },
    ],
  });

  beforeAll(async () => {
    svc = await connectTestServices();
    app = buildHttpServer({ db: svc.db, redis: svc.redis, config, temporal: svc.temporal, taskQueue: svc.taskQueue, metrics: createMetrics(), logger: createLogger('silent'), env });
  });
  afterAll(async () => {
    await app?.close();
    await svc?.close();
  });

  // SKUs without mappings: recorded, never handed to a refresh, so these tests need no worker.
  const post = (source: string, events: Record<string, unknown>[], token = env.EDGE_ERP_TOKEN) =>
    app.inject({ method: 'POST', url: `/sources/${source}/events`, payload: { events }, headers: { authorization: `Bearer ${token}` } });
  const event = (sku: string, quantity: number, extra: Record<string, unknown> = {}) => ({ shopId, sku, locationId: 'WH1', quantity, occurredAt: new Date().toISOString(), ...extra });
  const recorded = async (source: string, sku?: string) =>
    (await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM source_changes WHERE source = $1 AND ($2::text IS NULL OR sku = $2)', [source, sku ?? null])).rows[0]!.n;
  const snapshotQty = async (sku: string) => (await svc.db.query<{ quantity: number }>('SELECT quantity FROM source_snapshots WHERE source = $1 AND sku = $2', [erp, sku])).rows[0]?.quantity;

  it('a quantity outside what Shopify accepts (negative, above 1e9, beyond int32) is a 400 naming the field, and nothing is recorded', async () => {
    for (const [quantity, message] of [
      [-5, 'expected a quantity >= 0'],
      [MAX_QUANTITY + 1, `expected a quantity <= ${MAX_QUANTITY}`],
      [2 ** 31, `expected a quantity <= ${MAX_QUANTITY}`],
    ] as const) {
      const res = await post(erp, [event('RANGE-OK', 1), event('RANGE', quantity)]);
      expect(res.statusCode, String(quantity)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field: 'events.1.quantity' } });
      expect(res.json().message).toContain(message);
    }
    expect(await recorded(erp, 'RANGE-OK')).toBe(0);
    expect((await post(erp, [event('RANGE', MAX_QUANTITY)])).statusCode).toBe(202);
    expect((await post(erp, [event('ZERO', 0)])).statusCode).toBe(202);
  });

  it('an occurredAt beyond the clock-skew allowance is a 400 naming the field; within it is accepted', async () => {
    const res = await post(erp, [event('CLOCK', 3, { occurredAt: '2030-01-01T00:00:00Z' })]);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field: 'events.0.occurredAt' } });
    expect(res.json().message).toContain('max_clock_skew_seconds: 120');
    expect(await recorded(erp, 'CLOCK')).toBe(0);
    const slightlyAhead = new Date(Date.now() + 60_000).toISOString();
    expect((await post(erp, [event('CLOCK', 4, { occurredAt: slightlyAhead })])).statusCode).toBe(202);
  });

  it('a timestamp without its offset, and a body sent as text, are 400s that say so', async () => {
    const naive = await post(erp, [event('NAIVE', 1, { occurredAt: '2026-12-01T20:00:00' })]);
    expect(naive.statusCode).toBe(400);
    expect(naive.json().message).toBe('source events: events.0.occurredAt: expected an ISO 8601 timestamp with its offset, such as 2026-11-30T12:00:00Z or 2026-11-30T13:00:00+01:00');
    const text = await app.inject({ method: 'POST', url: `/sources/${erp}/events`, payload: JSON.stringify({ events: [event('TEXT', 1)] }), headers: { authorization: `Bearer ${env.EDGE_ERP_TOKEN}`, 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(400);
    expect(text.json().message).toBe('source events: (body): expected a JSON object, got text; send it as JSON with content-type: application/json');
    expect(await recorded(erp, 'TEXT')).toBe(0);
  });

  it('a reading stored with a future date (before the edge refused them) does not block a newer true reading', async () => {
    await svc.db.query(`INSERT INTO source_snapshots (source, shop_id, sku, location_id, quantity, occurred_at) VALUES ($1, $2, 'FROZEN', 'WH1', 100, '2030-01-01T00:00:00Z')`, [erp, shopId]);
    const res = await post(erp, [event('FROZEN', 7)]);
    expect(res.statusCode).toBe(202);
    expect(await snapshotQty('FROZEN')).toBe(7);
  });

  it('a push to a source inventory-sync pulls is refused, saying why, and records nothing', async () => {
    const res = await post(pulled, [event('MUG', 3)], env.EDGE_PULLED_TOKEN);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'ISYNC_SOURCE_IS_PULLED', details: { source: pulled, type: 'http' } });
    expect(res.json().message).toContain('takes no pushes');
    expect(await recorded(pulled)).toBe(0);
  });

  it('an event for a shop that is not configured is a 403 like any shop outside the source (no telling which shops exist); nothing is recorded and no workflow starts', async () => {
    const ghost = `${shopId}-ghost`;
    const res = await post(erp, [event('MUG', 3), { ...event('MUG', 3), shopId: ghost }]);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'ISYNC_FORBIDDEN', details: { field: 'events.1.shopId' } });
    const { rows } = await svc.db.query('SELECT count(*)::int AS n FROM source_changes WHERE shop_id = $1', [ghost]);
    expect(rows[0].n).toBe(0);
    await expect(svc.temporal.workflow.getHandle(`refresh:${ghost}`).describe()).rejects.toThrow(/not found/i);
  });
});
