import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createRedis } from '../../src/redis/client.js';
import type { HttpDeps } from '../../src/starters/http/deps.js';
import { buildAdminServer, buildHttpServer } from '../../src/starters/http/server.js';
import { signWebhook } from '../../src/shopify/emulator/index.js';
import { startRig, type Rig } from '../reservations/rig.js';

const SKUS = ['EDGE-1', 'EDGE-2', 'EDGE-3'];
const WH = 'WH1';
const poll = { timeout: 20_000, interval: 100 };

/** Bounds at the edge: sizes, quantities, work per request, time per request, requests per token, who may read. */
describe('limits at the edge', () => {
  let rig: Rig;
  let adjustCalls = 0;
  const servers: FastifyInstance[] = [];
  beforeAll(async () => {
    rig = await startRig({
      onHand: 50,
      skus: SKUS,
      webhooks: false,
      // Counts the activities' real Shopify adjustment calls (each still reaches the emulator).
      wrapShopify: (client) => ({
        ...client,
        adjustAvailable: async (...args: Parameters<typeof client.adjustAvailable>) => {
          adjustCalls++;
          return client.adjustAvailable(...args);
        },
      }),
    });
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await rig?.close();
  });

  const deps = (config: Config, over: Partial<HttpDeps> = {}): HttpDeps => ({
    db: rig.svc.db,
    redis: rig.svc.redis,
    config,
    temporal: rig.svc.temporal,
    taskQueue: rig.svc.taskQueue,
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    env: rig.env,
    ...over,
  });
  const withHttp = (http: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    configSchema.parse({ ...JSON.parse(JSON.stringify(rig.config)), ...extra, inventory_sync: { ...rig.config.inventory_sync, http: { ...rig.config.inventory_sync.http, ...http } } });
  async function listen(app: FastifyInstance): Promise<string> {
    servers.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }
  const line = (i: number, quantity = 1) => ({ lineId: `l${i}`, sku: SKUS[i % SKUS.length]!, locationId: WH, quantity });
  const now = () => new Date().toISOString();

  it('refuses more than 250 lines and overlong ids on /orders and /wms/allocations, naming the field', async () => {
    const many = Array.from({ length: 12_000 }, (_, i) => line(i));
    // WMS cases first: their token is valid on the old code too, which accepted all of them (12,000 lines took 6.4 s).
    const cases: [() => Promise<Response>, string][] = [
      [() => rig.postWms({ shopId: rig.shopId, orderId: 'big', allocationId: 'a', occurredAt: now(), lines: many }), 'lines'],
      [() => rig.postWms({ shopId: rig.shopId, orderId: 'o', allocationId: 'a', occurredAt: now(), lines: [line(0, 1_000_000_000)] }), 'lines.0.quantity'],
      [() => rig.postWms({ shopId: rig.shopId, orderId: 'o', allocationId: 'a'.repeat(300), occurredAt: now(), lines: [line(0)] }), 'allocationId'],
      [() => rig.postWms({ shopId: rig.shopId, orderId: 'o', channel: 'nobody', allocationId: 'a', occurredAt: now(), lines: [line(0)] }), 'channel'],
      [() => rig.postOrder({ shopId: rig.shopId, orderId: 'big', updatedAt: now(), lines: many.slice(0, 251) }), 'lines'],
      [() => rig.postOrder({ shopId: rig.shopId, orderId: 'x'.repeat(1200), updatedAt: now(), lines: [line(0)] }), 'orderId'],
      [() => rig.postOrder({ shopId: rig.shopId, orderId: 'o', updatedAt: now(), lines: [{ ...line(0), sku: 's'.repeat(256) }] }), 'lines.0.sku'],
    ];
    for (const [send, field] of cases) {
      const r = await send();
      expect(r.status, field).toBe(400);
      expect(await r.json()).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field } });
    }
    const { rows } = await rig.svc.db.query('SELECT count(*)::int AS n FROM wms_allocations WHERE shop_id = $1', [rig.shopId]);
    expect(rows[0].n).toBe(0);
  });

  it('250 allocation lines are recorded in one go, each once', async () => {
    const lines = Array.from({ length: 250 }, (_, i) => line(i));
    expect((await rig.postWms({ shopId: rig.shopId, orderId: 'alloc-250', allocationId: 'w-250', occurredAt: now(), lines })).status).toBe(202);
    expect((await rig.postWms({ shopId: rig.shopId, orderId: 'alloc-250', allocationId: 'w-250', occurredAt: now(), lines })).status).toBe(202);
    const { rows } = await rig.svc.db.query('SELECT count(*)::int AS n FROM wms_allocations WHERE shop_id = $1 AND order_id = $2', [rig.shopId, 'alloc-250']);
    expect(rows[0].n).toBe(250);
  });

  it('an external order\'s lines reach Shopify in one call, not one per line', async () => {
    const before = adjustCalls;
    const res = await rig.postOrder({ shopId: rig.shopId, orderId: 'three-lines', updatedAt: now(), lines: [line(0, 2), line(1, 3), line(2, 4)] });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await rig.claimLines(rig.ext('three-lines'))).map((l) => l.shopify_adjusted), poll).toEqual([2, 3, 4]);
    expect(adjustCalls - before).toBe(1);
    await expect.poll(() => SKUS.map((s) => rig.available(s, WH)), poll).toEqual([48, 47, 46]);
  });

  it('limits requests per token: the 4th in the window is 429, another token still gets through', async () => {
    // Counters live in Redis, shared by every server process: this server gets a keyspace of its own.
    const redis = rig.svc.redis.duplicate({ keyPrefix: `${rig.svc.redisPrefix}rl-test:` });
    const url = await listen(buildHttpServer(deps(withHttp({ rate_limit: { max_requests: 3, window_ms: 60_000 } }), { redis })));
    const post = (token: string) =>
      fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ shopId: rig.shopId }) });
    for (let i = 0; i < 3; i++) expect((await post(rig.orderToken)).status).toBe(400);
    const limited = await post(rig.orderToken);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ code: 'ISYNC_RATE_LIMITED' });
    expect((await post(rig.operatorToken)).status).toBe(401);
    redis.disconnect();
  });

  it('cuts off a request that does not arrive in time (408), instead of holding the connection forever', async () => {
    const url = new URL(await listen(buildHttpServer(deps(withHttp({ request_timeout_ms: 300 })))));
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise<boolean>((resolve) => {
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    // Headers promise a body that never comes (a slow-loris sender).
    socket.write(`POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"shopId":`);
    expect(await closed).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    socket.destroy();
  });

  it('reads need the operator token on the public port; other tokens and none get the same 401', async () => {
    const paths = [`/reservations/${rig.shopId}/${encodeURIComponent(rig.ext('three-lines'))}`, '/metrics'];
    for (const path of paths) {
      for (const token of [null, rig.orderToken, rig.wmsToken, 'guess']) {
        const res = await fetch(`${rig.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
        expect(res.status, `${path} ${token}`).toBe(401);
        expect(await res.json()).toEqual({ code: 'ISYNC_UNAUTHORIZED', message: 'a valid bearer token for this route is required' });
      }
      expect((await fetch(`${rig.url}${path}`, { headers: { authorization: `Bearer ${rig.operatorToken}` } })).status, path).toBe(200);
    }
  });

  it('with an admin port, reads leave the public port and are served on the admin one', async () => {
    const config = withHttp({ admin_port: 0 }, { operator: undefined });
    const publicUrl = await listen(buildHttpServer(deps(config)));
    const adminUrl = await listen(buildAdminServer(deps(config)));
    expect((await fetch(`${publicUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${adminUrl}/metrics`)).status).toBe(200);
    expect((await fetch(`${adminUrl}/reservations/${rig.shopId}/${encodeURIComponent(rig.ext('three-lines'))}`)).status).toBe(200);
    expect((await fetch(`${adminUrl}/orders`, { method: 'POST' })).status).toBe(404);
  });

  it('/healthz names states only: no addresses, driver messages or passwords', async () => {
    const broken = createRedis('redis://:hunter2@127.0.0.1:1', 'x:');
    broken.on('error', () => undefined);
    const url = await listen(buildHttpServer(deps(rig.config, { redis: broken })));
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ status: 'degraded', postgres: 'ok', redis: 'unavailable', temporal: 'ok' });
    broken.disconnect();
  });

  it('a webhook for a shop whose secret is not set gets the same 401 as a bad signature, naming no variable', async () => {
    const env = { ...rig.env };
    delete env.RES_WEBHOOK_SECRET;
    const url = await listen(buildHttpServer(deps(rig.config, { env })));
    const body = JSON.stringify({ id: 1 });
    const send = (target: string, domain: string) =>
      fetch(`${target}/webhooks/shopify`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/create', 'x-shopify-hmac-sha256': signWebhook(body, 'wrong'), 'x-shopify-shop-domain': domain, 'x-shopify-webhook-id': `w-${Math.random()}` },
      });
    const unset = await send(url, rig.domain);
    const badSignature = await send(rig.url, rig.domain);
    const unknownShop = await send(rig.url, 'nobody.myshopify.com');
    expect([unset.status, badSignature.status, unknownShop.status]).toEqual([401, 401, 401]);
    const bodies = [await unset.text(), await badSignature.text(), await unknownShop.text()];
    expect(new Set(bodies).size).toBe(1);
    expect(bodies[0]).not.toContain('RES_WEBHOOK_SECRET');
  });
});
