import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';
import type { HttpDeps } from '../../src/starters/http/deps.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { signWebhook } from '../../src/shopify/emulator/index.js';
import { ALLOCATION_SIGNAL, ORDER_EVENT_SIGNAL } from '../../src/domain/reservation-model.js';
import { drainHandoffs } from '../../src/starters/http/handoffs.js';
import { HANDOFF_DEADLINE_MS } from '../../src/temporal/handoff.js';
import { startRig, type Rig } from '../reservations/rig.js';

const SKU = 'ERR-1';
const WH = 'WH1';

/**
 * Issue 15 item 5: the answers of the HTTP routes when something is wrong, against real servers built with
 * buildHttpServer on real PostgreSQL, Redis and Temporal. A "dead" Temporal is a real Client on a connection to a
 * port nothing listens on. Already covered elsewhere, not repeated here: /healthz with Redis down
 * (security/edge-limits), a webhook whose secret variable is unset (security/edge-limits, the same 401 as a bad
 * signature), line and id bounds (security/edge-limits), a bad /orders line (reservations/external-orders).
 */
describe('HTTP error paths', () => {
  let rig: Rig;
  let dead: Client;
  let downUrl: string;
  const servers: FastifyInstance[] = [];

  const deps = (over: Partial<HttpDeps> = {}): HttpDeps => ({
    db: rig.svc.db,
    redis: rig.svc.redis,
    config: rig.config,
    temporal: rig.svc.temporal,
    taskQueue: rig.svc.taskQueue,
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    env: rig.env,
    ...over,
  });
  async function listen(app: FastifyInstance): Promise<string> {
    servers.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }
  /**
   * A server of its own whose Temporal is dead, closed before returning: closing waits for the sweep its requests
   * kicked off (which fails), so the rows are left in the outbox, unlocked, for the test to sweep.
   */
  async function whileTemporalDown(work: (url: string) => Promise<void>): Promise<void> {
    const app = buildHttpServer(deps({ temporal: dead }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await work(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
    } finally {
      await app.close();
    }
  }
  const postJson = (url: string, path: string, body: unknown, token: string) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const allocation = (orderId: string, over: Record<string, unknown> = {}) => ({
    shopId: rig.shopId,
    orderId,
    allocationId: `alloc-${orderId}`,
    occurredAt: new Date().toISOString(),
    lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 2 }],
    ...over,
  });
  const outboxRows = async (orderId: string) =>
    (await rig.svc.db.query<{ signal: string }>('SELECT signal FROM reservation_handoffs WHERE shop_id = $1 AND order_id = $2 ORDER BY id', [rig.shopId, orderId])).rows;
  const allocationRows = async (orderId: string) =>
    (await rig.svc.db.query<{ quantity: number }>('SELECT quantity FROM wms_allocations WHERE shop_id = $1 AND order_id = $2', [rig.shopId, orderId])).rows;

  beforeAll(async () => {
    rig = await startRig({ onHand: 20, skus: [SKU], webhooks: false });
    dead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 200 }) });
    downUrl = await listen(buildHttpServer(deps({ temporal: dead })));
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await dead?.connection.close().catch(() => undefined);
    await rig?.close();
  });

  describe('/healthz', () => {
    it('answers 200 with every dependency ok when PostgreSQL, Redis and Temporal answer', async () => {
      const res = await fetch(`${rig.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok', temporal: 'ok' });
    });

    it('answers 503 naming Temporal unavailable (a state, no address) when Temporal does not answer', async () => {
      const started = performance.now();
      const res = await fetch(`${downUrl}/healthz`);
      expect(res.status).toBe(503);
      // Within the probe deadline: a load balancer gives up on a probe after a few seconds (it took ~20 s).
      expect(performance.now() - started).toBeLessThan(8000);
      const body = await res.text();
      expect(JSON.parse(body)).toEqual({ status: 'degraded', postgres: 'ok', redis: 'ok', temporal: 'unavailable' });
      expect(body).not.toContain('127.0.0.1');
    });
  });

  describe('/wms/allocations', () => {
    it('refuses a bad payload with 400 naming the field, and records nothing', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ occurredAt: 'yesterday' }, 'occurredAt'],
        [{ lines: [] }, 'lines'],
        [{ allocationId: undefined }, 'allocationId'],
        [{ lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 0 }] }, 'lines.0.quantity'],
        [{ channel: 'no-such-channel' }, 'channel'],
      ];
      for (const [over, field] of cases) {
        const orderId = `bad-${field}`;
        const res = await postJson(rig.url, '/wms/allocations', allocation(orderId, over), rig.wmsToken);
        expect(res.status, field).toBe(400);
        const body = (await res.json()) as { code: string; message: string; details: { field: string } };
        expect(body, field).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field } });
        expect(body.message, field).toContain(field);
        expect(await allocationRows(orderId), field).toEqual([]);
      }
    });

    it('has no 404: an allocation for an order not seen yet is recorded and accepted (202), and starts no workflow', async () => {
      // The route documents it: a confirmation may arrive before its order, so it is recorded, never refused.
      const orderId = `unseen-${Date.now()}`;
      const res = await postJson(rig.url, '/wms/allocations', allocation(orderId), rig.wmsToken);
      expect(res.status).toBe(202);
      const body = (await res.json()) as { status: string; workflowId: string };
      expect(body).toEqual({ status: 'accepted', workflowId: `reservation:${rig.shopId}:${orderId}` });
      expect(await allocationRows(orderId)).toEqual([{ quantity: 2 }]);
      // The hand-off that follows the answer finds no reservation: the confirmation waits for its order's first
      // claim (test/reservations/confirmed-before-order.test.ts), and no workflow is started for it.
      await expect.poll(() => outboxRows(orderId), { timeout: 20_000 }).toEqual([]);
      await expect(rig.svc.temporal.workflow.getHandle(body.workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      expect(await allocationRows(orderId)).toEqual([{ quantity: 2 }]);
    });

    it('answers 202 while Temporal is down, the allocation and its signal committed in the outbox; the sweeper hands it off once Temporal answers', async () => {
      // An order we know (its workflow claimed it): its confirmation is a signal to that workflow.
      const orderId = `down-${Date.now()}`;
      expect((await postJson(rig.url, '/orders', { shopId: rig.shopId, orderId, updatedAt: new Date().toISOString(), lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 2 }] }, rig.orderToken)).status).toBe(202);
      await expect.poll(async () => (await rig.reservation(rig.ext(orderId)))?.state, { timeout: 20_000 }).toBe('claimed');
      await whileTemporalDown(async (url) => {
        const started = performance.now();
        const res = await postJson(url, '/wms/allocations', allocation(orderId, { channel: 'oms' }), rig.wmsToken);
        expect(res.status).toBe(202);
        expect(await res.json()).toEqual({ status: 'accepted', workflowId: `reservation:${rig.shopId}:${rig.ext(orderId)}` });
        // The answer follows the commit, not Temporal (the old route waited up to the hand-off deadline for a 503).
        expect(performance.now() - started).toBeLessThan(HANDOFF_DEADLINE_MS);
      });
      expect(await allocationRows(rig.ext(orderId))).toEqual([{ quantity: 2 }]);
      expect(await outboxRows(rig.ext(orderId))).toEqual([{ signal: ALLOCATION_SIGNAL }]);
      // Temporal answers again: a sweep (forced here, not waited for) signals the order's workflow, which applies it.
      expect((await drainHandoffs(deps())).failed).toBe(false);
      expect(await outboxRows(rig.ext(orderId))).toEqual([]);
      await expect.poll(async () => (await rig.status(rig.ext(orderId))).state, { timeout: 20_000 }).toBe('allocated');
    });
  });

  describe('/orders', () => {
    const order = (orderId: string, over: Record<string, unknown> = {}) => ({
      shopId: rig.shopId,
      orderId,
      updatedAt: new Date().toISOString(),
      lines: [{ lineId: 'l1', sku: SKU, locationId: WH, quantity: 1 }],
      ...over,
    });

    it('answers 202 only once the order is recorded, while Temporal is down; the sweeper hands it to the order workflow once Temporal answers', async () => {
      const orderId = `down-${Date.now()}`;
      await whileTemporalDown(async (url) => {
        const res = await postJson(url, '/orders', order(orderId), rig.orderToken);
        expect(res.status).toBe(202);
        expect(await res.json()).toEqual({ status: 'accepted', orderId: rig.ext(orderId), workflowId: `reservation:${rig.shopId}:${rig.ext(orderId)}` });
      });
      expect(await outboxRows(rig.ext(orderId))).toEqual([{ signal: ORDER_EVENT_SIGNAL }]);
      expect((await drainHandoffs(deps())).failed).toBe(false);
      expect(await outboxRows(rig.ext(orderId))).toEqual([]);
      await expect.poll(async () => (await rig.reservation(rig.ext(orderId)))?.state, { timeout: 20_000 }).toBeDefined();
    });

    it('logs a refresh signal Temporal did not take, naming the shop, the keys and the wait, never a token; the keys wait for the next sweep', async () => {
      const token = rig.env.RES_ERP_TOKEN!;
      await whileTemporalDown(async (url) => {
        const res = await postJson(url, `/sources/${rig.shopId}-erp/events`, { events: [{ shopId: rig.shopId, sku: SKU, locationId: WH, quantity: 11, occurredAt: new Date().toISOString() }] }, token);
        expect(res.status).toBe(202);
      });
      const lines: Record<string, unknown>[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
      const waiting = async () => (await rig.svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM refresh_handoffs WHERE shop_id = $1 AND sku = $2', [rig.shopId, SKU])).rows[0]!.n;
      expect((await drainHandoffs(deps({ temporal: dead, logger }))).failed).toBe(true);
      expect(await waiting()).toBe(1);
      const refused = lines.filter((l) => l.msg === 'Temporal did not take a refresh signal; its keys wait in the outbox');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ shopId: rig.shopId, keys: 1 });
      // Sent in tries of 400 ms until the hand-off deadline (2 s), never in a tight loop.
      expect(refused[0]!.ms).toBeGreaterThanOrEqual(HANDOFF_DEADLINE_MS - 50);
      expect(refused[0]!.tries).toBeGreaterThanOrEqual(2);
      expect(refused[0]!.tries).toBeLessThanOrEqual(6);
      expect(JSON.stringify(lines)).not.toContain(token);
      // Temporal answers again: the next sweep hands the key on.
      expect((await drainHandoffs(deps())).failed).toBe(false);
      expect(await waiting()).toBe(0);
    });

    it('refuses an open order with no lines (empty or omitted) with 400 naming lines; a cancel needs none', async () => {
      for (const over of [{ lines: [] }, { lines: undefined }, { status: 'open', lines: [] }]) {
        const orderId = `no-lines-${Math.random().toString(36).slice(2, 8)}`;
        const res = await postJson(rig.url, '/orders', order(orderId, over), rig.orderToken);
        expect(res.status, JSON.stringify(over)).toBe(400);
        expect(await res.json()).toEqual({ code: 'ISYNC_PAYLOAD_INVALID', message: 'order: lines: expected at least one line', details: { field: 'lines' } });
        expect(await rig.svc.temporal.workflow.getHandle(`reservation:${rig.shopId}:${rig.ext(orderId)}`).describe().catch(() => 'none')).toBe('none');
      }
      const cancelled = await postJson(rig.url, '/orders', order(`cancel-${Date.now()}`, { status: 'cancelled', lines: [] }), rig.orderToken);
      expect(cancelled.status).toBe(202);
    });
  });

  describe('/webhooks/shopify', () => {
    const secret = () => rig.env.RES_WEBHOOK_SECRET!;
    const deliver = (body: string, headers: Record<string, string | undefined>) =>
      fetch(`${rig.url}/webhooks/shopify`, {
        method: 'POST',
        body,
        headers: Object.fromEntries(
          Object.entries({ 'content-type': 'application/json', 'x-shopify-hmac-sha256': signWebhook(body, secret()), 'x-shopify-shop-domain': rig.domain, ...headers }).filter(
            (e): e is [string, string] => e[1] !== undefined,
          ),
        ),
      });
    const deliveryRow = async (webhookId: string) =>
      (await rig.svc.db.query<{ outcome: string; subject_id: string | null; handoff: unknown }>('SELECT outcome, subject_id, handoff FROM webhook_deliveries WHERE webhook_id = $1', [webhookId])).rows[0];

    it('a signed delivery without its topic or webhook id header is refused with 400 naming the header, and not recorded', async () => {
      const body = JSON.stringify({ id: 1 });
      const cases: [Record<string, string | undefined>, string][] = [
        [{ 'x-shopify-webhook-id': `no-topic-${Date.now()}` }, 'X-Shopify-Topic'],
        [{ 'x-shopify-topic': 'orders/create' }, 'X-Shopify-Webhook-Id'],
      ];
      for (const [headers, header] of cases) {
        const res = await deliver(body, headers);
        expect(res.status, header).toBe(400);
        expect(await res.json()).toEqual({ code: 'ISYNC_PAYLOAD_INVALID', message: `header ${header} is missing`, details: { field: header } });
      }
      expect(await deliveryRow(cases[0]![0]['x-shopify-webhook-id']!)).toBeUndefined();
    });

    it('fulfillment_orders/moved for fulfillment orders of no known order answers 200 unrouted, recorded with nothing to hand off', async () => {
      const webhookId = `moved-unknown-${Date.now()}`;
      const body = JSON.stringify({ original_fulfillment_order: { id: 'gid://shopify/FulfillmentOrder/987654321' }, moved_fulfillment_order: { id: 'gid://shopify/FulfillmentOrder/987654322' } });
      const res = await deliver(body, { 'x-shopify-topic': 'fulfillment_orders/moved', 'x-shopify-webhook-id': webhookId });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'unrouted' });
      expect(await deliveryRow(webhookId)).toEqual({ outcome: 'unrouted', subject_id: null, handoff: null });
      // A repeat of the same delivery is not recorded twice.
      const repeat = await deliver(body, { 'x-shopify-topic': 'fulfillment_orders/moved', 'x-shopify-webhook-id': webhookId });
      expect(repeat.status).toBe(200);
    });
  });
});
