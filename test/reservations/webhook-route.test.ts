import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../src/domain/keys.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { signWebhook } from '../../src/shopify/emulator/index.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { redrivePendingDeliveries } from '../../src/starters/http/webhook-deliveries.js';
import { orderIdOf, startRig, type Rig } from './rig.js';

describe('POST /webhooks/shopify', () => {
  let rig: Rig;
  let n = 0;
  beforeAll(async () => {
    rig = await startRig({ webhooks: false });
  });
  afterAll(async () => {
    await rig?.close();
  });

  function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
    return fetch(`${url}/webhooks/shopify`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-hmac-sha256': signWebhook(body.toString(), rig.secret),
        'x-shopify-shop-domain': rig.domain,
        'x-shopify-webhook-id': `route-${++n}-${Date.now()}`,
        ...headers,
      },
    });
  }
  const orderBody = () => JSON.stringify(rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: 'TEE-RED-M', quantity: 1 }] }).rest);

  it('answers the same 401 to a wrong signature and to an unknown shop, signalling nothing', async () => {
    const body = orderBody();
    const bad = await post(rig.url, body, { 'x-shopify-hmac-sha256': signWebhook(body, 'not-the-secret') });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ code: 'ISYNC_WEBHOOK_SIGNATURE_INVALID' });
    // One byte changed after signing.
    const tampered = await post(rig.url, body.replace('"quantity":1', '"quantity":9'), { 'x-shopify-hmac-sha256': signWebhook(body, rig.secret) });
    expect(tampered.status).toBe(401);
    const unknown = await post(rig.url, body, { 'x-shopify-shop-domain': 'other.myshopify.com' });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual(await (await post(rig.url, body, { 'x-shopify-hmac-sha256': signWebhook(body, 'not-the-secret') })).json());
    const orderId = String(JSON.parse(body).id);
    expect(await rig.reservation(orderId)).toBeUndefined();
  });

  it('answers 400 naming the field for a malformed body, and 413 above 1 MiB', async () => {
    const body = JSON.parse(orderBody());
    body.line_items[0].quantity = 'three';
    const res = await post(rig.url, JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain('line_items.0.quantity');
    const notJson = await post(rig.url, '{"id":');
    expect(notJson.status).toBe(400);
    const missingId = await post(rig.url, JSON.stringify({ ...body, id: undefined }));
    expect(((await missingId.json()) as { message: string }).message).toMatch(/orders\/create: id:/);
    const huge = JSON.stringify({ ...body, note: 'x'.repeat(1024 * 1024) });
    expect((await post(rig.url, huge)).status).toBe(413);
  });

  it('acknowledges topics it does not handle without recording them', async () => {
    const res = await post(rig.url, JSON.stringify({ inventory_item_id: 1, location_id: 1, available: 3 }), { 'x-shopify-topic': 'inventory_levels/update' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ignored' });
  });

  it('keeps only ids and quantities: the stored hand-off has no customer data', async () => {
    const body = orderBody();
    const webhookId = `pii-${Date.now()}`;
    expect((await post(rig.url, body, { 'x-shopify-webhook-id': webhookId })).status).toBe(200);
    const { rows } = await rig.svc.db.query('SELECT handoff FROM webhook_deliveries WHERE webhook_id = $1', [webhookId]);
    const stored = JSON.stringify(rows[0].handoff);
    const order = JSON.parse(body);
    expect(stored).not.toContain(order.email);
    expect(stored).not.toContain(order.customer.last_name);
    expect(stored).not.toContain(order.shipping_address.address1);
    // `fulfillable` (Shopify's fulfillable_quantity) is a quantity too: a single-location shop claims from it.
    expect(rows[0].handoff.payload.lines[0]).toEqual({
      lineId: String(order.line_items[0].id),
      variantId: String(order.line_items[0].variant_id),
      sku: 'TEE-RED-M',
      quantity: 1,
      ...(order.line_items[0].fulfillable_quantity === undefined ? {} : { fulfillable: order.line_items[0].fulfillable_quantity }),
    });
  });

  it('Temporal down: answers 200 once the delivery is recorded; the sweeper hands it off later, exactly once', async () => {
    const lazyDead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 200 }) });
    const downMetrics = createMetrics();
    const down = buildHttpServer({ db: rig.svc.db, redis: rig.svc.redis, config: rig.config, temporal: lazyDead, taskQueue: rig.svc.taskQueue, metrics: downMetrics, logger: pino({ level: 'silent' }), env: rig.env });
    await down.listen({ port: 0, host: '127.0.0.1' });
    const downUrl = `http://127.0.0.1:${(down.server.address() as { port: number }).port}`;
    const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: 'TEE-RED-M', quantity: 2 }] });
    const orderId = orderIdOf(placed);
    const body = JSON.stringify(placed.rest);
    const webhookId = `outage-${Date.now()}`;
    try {
      const started = performance.now();
      const res = await post(downUrl, body, { 'x-shopify-webhook-id': webhookId });
      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(1000);
      // The background hand-off fails (deadline 2 s): wait until it has given up (the server counts the deferred
      // hand-off), then the row is still pending and nothing reached Temporal.
      const deferred = async () => (await downMetrics.webhooks.get()).values.find((v) => v.labels.outcome === 'handoff_deferred')?.value ?? 0;
      await expect.poll(deferred, { timeout: 10_000, interval: 50 }).toBe(1);
      const row = await rig.svc.db.query('SELECT outcome FROM webhook_deliveries WHERE webhook_id = $1', [webhookId]);
      expect(row.rows[0].outcome).toBe('pending');
      expect(await rig.reservation(orderId)).toBeUndefined();
    } finally {
      await down.close();
    }
    // No retry from Shopify needed: the healthy server's sweeper finds the pending row and hands it off.
    await expect.poll(async () => (await rig.claimLines(orderId))[0]?.claimed ?? 0, { timeout: 20_000 }).toBe(2);
    await expect.poll(async () => (await rig.svc.db.query('SELECT outcome FROM webhook_deliveries WHERE webhook_id = $1', [webhookId])).rows[0].outcome, { timeout: 5000 }).toBe('signalled');
    expect(await redrivePendingDeliveries({ db: rig.svc.db, temporal: rig.svc.temporal, taskQueue: rig.svc.taskQueue, config: rig.config })).toBe(0);
    const repeat = await post(rig.url, body, { 'x-shopify-webhook-id': webhookId });
    expect(await repeat.json()).toMatchObject({ status: 'duplicate' });
    const history = await rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId)).fetchHistory();
    expect(history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(1);
  });

  it('a signed body sent again under another webhook id (the header is not signed) is a duplicate: one row, one signal', async () => {
    const placed = rig.emu.emulator.placeOrder(rig.domain, { lines: [{ sku: 'TEE-RED-M', quantity: 1 }] });
    const orderId = orderIdOf(placed);
    const body = JSON.stringify(placed.rest);
    const first = await post(rig.url, body, { 'x-shopify-webhook-id': `replay-a-${Date.now()}` });
    expect(await first.json()).toMatchObject({ status: 'accepted' });
    for (let i = 0; i < 3; i++) {
      const replay = await post(rig.url, body, { 'x-shopify-webhook-id': `replay-${i}-${Date.now()}`, 'x-shopify-event-id': `forged-${i}` });
      expect(replay.status).toBe(200);
      expect(await replay.json()).toMatchObject({ status: 'duplicate' });
    }
    // The same body under another topic is another delivery (Shopify sends orders/updated with the same order).
    const updated = await post(rig.url, body, { 'x-shopify-topic': 'orders/updated', 'x-shopify-webhook-id': `replay-u-${Date.now()}` });
    expect(await updated.json()).toMatchObject({ status: 'accepted' });
    const rows = await rig.svc.db.query('SELECT topic FROM webhook_deliveries WHERE shop_domain = $1 AND subject_id = $2 ORDER BY topic', [rig.domain, orderId]);
    expect(rows.rows).toEqual([{ topic: 'orders/create' }, { topic: 'orders/updated' }]);
    const handle = rig.svc.temporal.workflow.getHandle(workflowIds.reservation(rig.shopId, orderId));
    await expect.poll(async () => (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length, { timeout: 10_000 }).toBe(2);
  });
});
