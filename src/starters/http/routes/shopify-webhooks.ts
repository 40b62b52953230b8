import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { Errors } from '../../../domain/errors.js';
import { HANDLED_ORDER_TOPICS, parseOrderWebhook, type ParsedOrderWebhook } from '../../../domain/order-webhook.js';
import { ORDER_EVENT_SIGNAL } from '../../../domain/reservation-model.js';
import type { HttpDeps } from '../deps.js';
import { verifyShopifyHmac } from '../hmac.js';
import type { OrderHandoff } from '../../../temporal/handoff.js';
import { parsePayload, requiredHeader } from '../payload.js';
import { BODY_LIMIT_BYTES } from '../bounds.js';
import { orderOfFulfillmentOrders } from '../../../db/fulfillment-orders.js';
import { recordDelivery, type DeliveryMeta } from '../../../db/webhook-deliveries.js';
import { deliver, startDeliverySweeper } from '../webhook-deliveries.js';

export const WEBHOOK_UNAUTHORIZED_MESSAGE = 'the delivery is not signed by a configured shop';

/**
 * POST /webhooks/shopify: verify, dedupe, record, answer, hand off. Never calls Shopify inline: the order's
 * workflow does the work. The raw body is kept as a Buffer (a parser scoped to this route) because the HMAC
 * covers the exact bytes Shopify sent.
 *
 * The answer (200) is given once the stripped hand-off is durably recorded ('pending' in webhook_deliveries, an
 * outbox); the signal-with-start follows at once, and a sweeper re-drives any row still pending (Temporal down,
 * or this process died in between). So the acknowledgement costs one PostgreSQL insert, Temporal being slow or
 * down does not make Shopify retry (or delete the subscription), and nothing is lost.
 */
export function shopifyWebhookRoutes(app: FastifyInstance, deps: HttpDeps): void {
  let stopSweeper: (() => void) | undefined;
  app.addHook('onReady', async () => {
    stopSweeper = startDeliverySweeper(deps);
  });
  app.addHook('onClose', async () => stopSweeper?.());
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));
    // Not rate limited: Shopify's deliveries carry no token, and a refused one would only be retried.
    scope.post('/webhooks/shopify', { config: { rateLimit: false } }, (req, reply) => receive(deps, req, reply));
  });
}

async function receive(deps: HttpDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const started = performance.now();
  const domain = requiredHeader(req.headers, 'X-Shopify-Shop-Domain');
  const shop = deps.config.shops.find((s) => s.domain === domain);
  const secret = shop ? deps.env[shop.webhook_secret_env] : undefined;
  // An unknown shop, a shop whose secret is not set and a bad signature get the same answer: the caller learns
  // neither which shops we serve nor how we are configured. The operator finds the reason in the log.
  if (shop && !secret) req.log.error({ shop: shop.id, variable: shop.webhook_secret_env }, 'webhook secret variable is not set; deliveries for this shop are refused');
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  // The HMAC is computed either way, so the time taken does not tell an unknown shop from a bad signature.
  const signed = verifyShopifyHmac(raw, req.headers['x-shopify-hmac-sha256'] as string | undefined, secret ?? 'no shop, no secret');
  if (!shop || !secret || !signed) {
    deps.metrics.webhooks.inc({ topic: 'unknown', outcome: shop ? 'bad_signature' : 'unknown_shop' });
    throw Errors.WebhookSignatureInvalid(WEBHOOK_UNAUTHORIZED_MESSAGE);
  }
  const topic = requiredHeader(req.headers, 'X-Shopify-Topic');
  const webhookId = requiredHeader(req.headers, 'X-Shopify-Webhook-Id');
  if (!HANDLED_ORDER_TOPICS[topic]) {
    // The topic header is not signed: an unhandled one is not a label of its own (unbounded series).
    deps.metrics.webhooks.inc({ topic: 'other', outcome: 'ignored' });
    return void reply.status(200).send({ status: 'ignored', topic });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw Errors.PayloadInvalid('body: not valid JSON', { field: 'body' });
  }
  const triggeredAt = (req.headers['x-shopify-triggered-at'] as string | undefined) ?? new Date().toISOString();
  let parsed: ParsedOrderWebhook;
  try {
    parsed = parseOrderWebhook(topic, body, { deliveryId: webhookId, triggeredAt }, <S extends z.ZodType>(schema: S, value: unknown) => parsePayload(schema, value, topic));
  } catch (err) {
    if (Errors.WebhookTopicMismatch.is(err)) {
      deps.metrics.webhooks.inc({ topic, outcome: 'topic_mismatch' });
      req.log.warn({ shop: shop.id, topic, webhookId, payload: err.details?.payload }, 'webhook refused: its topic contradicts the signed payload');
    }
    throw err;
  }

  const orderId: string | null = parsed.target === 'order' ? parsed.orderId : await orderOfFulfillmentOrders(deps.db, shop.id, parsed.fulfillmentOrderIds);
  const meta: DeliveryMeta = {
    webhookId,
    shopDomain: domain,
    topic,
    eventId: (req.headers['x-shopify-event-id'] as string | undefined) ?? null,
    triggeredAt: Date.parse(triggeredAt) ? triggeredAt : null,
    subjectId: orderId,
    bodyDigest: createHash('sha256').update(raw).digest(),
  };
  if (orderId === null) {
    // A move of a fulfillment order we never saw: reconciliation finds the order; nothing to signal now.
    await recordDelivery(deps.db, meta, 'unrouted', null);
    deps.metrics.webhooks.inc({ topic, outcome: 'unrouted' });
    return void reply.status(200).send({ status: 'unrouted' });
  }
  const handoff: OrderHandoff = { shopId: shop.id, orderId, signal: ORDER_EVENT_SIGNAL, payload: parsed.event };
  const recorded = await recordDelivery(deps.db, meta, 'pending', handoff);
  if (recorded.kind !== 'new') {
    // Already recorded: signalled (a duplicate), or pending (its hand-off is under way or left to the sweeper).
    deps.metrics.webhooks.inc({ topic, outcome: 'duplicate' });
    return void reply.status(200).send({ status: 'duplicate' });
  }
  deps.metrics.webhooks.inc({ topic, outcome: 'accepted' });
  deps.metrics.handoffSeconds.observe({ route: '/webhooks/shopify' }, (performance.now() - started) / 1000);
  // Server-Timing: the acknowledgement as the server saw it (benchmarks compare it with what the client saw).
  reply.header('server-timing', `ack;dur=${(performance.now() - started).toFixed(2)}`).status(200).send({ status: 'accepted', orderId: handoff.orderId });
  // After the answer: a failure leaves the row pending for the sweeper.
  deliver(deps, webhookId, handoff)
    .then((ok) => (ok ? undefined : deps.metrics.webhooks.inc({ topic, outcome: 'handoff_deferred' })))
    .catch((err: unknown) => req.log.warn({ err, webhookId }, 'hand-off recorded but not marked; the sweeper retries'));
}
