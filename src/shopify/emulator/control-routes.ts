import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Emulator } from './emulator.js';
import { EmulatorError } from './errors.js';
import { PLANS, type ShopifyPlan } from './plans.js';
import { QUANTITY_NAMES } from './state.js';

const id = z.union([z.string().min(1), z.number().int()]);
const plan = z.enum(PLANS as [ShopifyPlan, ...ShopifyPlan[]]);
const qty = z.number().int().min(-1_000_000_000).max(1_000_000_000);

const schemas = {
  shop: z.object({
    domain: z.string().min(1),
    accessToken: z.string().min(1),
    plan: plan.optional(),
    webhookUrl: z.string().url().nullable().optional(),
    webhookSecret: z.string().min(1).optional(),
    apiVersion: z.string().optional(),
  }),
  shopPatch: z.object({ plan: plan.optional(), webhookUrl: z.string().url().nullable().optional(), webhookSecret: z.string().min(1).optional() }),
  location: z.object({ name: z.string().min(1), isActive: z.boolean().optional(), fulfillmentService: z.boolean().optional() }),
  product: z.object({
    sku: z.string().nullable(),
    title: z.string().optional(),
    price: z.string().optional(),
    tracked: z.boolean().optional(),
    allowOversell: z.boolean().optional(),
  }),
  inventory: z.object({
    inventoryItemId: id,
    locationId: id,
    quantities: z.object(Object.fromEntries(QUANTITY_NAMES.map((n) => [n, qty.optional()]))).strict(),
  }),
  order: z.object({
    lines: z.array(z.object({ sku: z.string().optional(), variantId: id.optional(), quantity: z.number().int().positive() })).min(1),
    locationId: id.optional(),
    sourceName: z.string().optional(),
  }),
  edit: z.object({
    lines: z.array(z.object({ lineItemId: id.optional(), sku: z.string().optional(), variantId: id.optional(), quantity: z.number().int().min(0) })).min(1),
  }),
  move: z.object({ newLocationId: id }),
  fulfill: z.object({ lines: z.array(z.object({ lineItemId: id, quantity: z.number().int().min(1) })).min(1).optional() }),
  faults: z.object({
    seed: z.number().int().optional(),
    errorRate5xx: z.number().min(0).max(1).optional(),
    timeoutRate: z.number().min(0).max(1).optional(),
    timeoutMode: z.enum(['hang', 'close']).optional(),
    timeoutMs: z.number().int().min(0).optional(),
    forceThrottle: z.boolean().optional(),
    throttleHttpStatus: z.union([z.literal(200), z.literal(429)]).optional(),
    throttleRetryAfterSeconds: z.number().int().min(0).optional(),
    latencyMs: z.number().int().min(0).optional(),
    failAfterApply5xxRate: z.number().min(0).max(1).optional(),
    webhookDrop: z.number().min(0).max(1).optional(),
    webhookDuplicate: z.number().min(0).max(1).optional(),
    webhookReorder: z.number().min(0).max(1).optional(),
    clear: z.boolean().optional(),
  }),
  failNext: z.object({
    count: z.number().int().positive(),
    afterApply: z.boolean().optional(),
    status: z.number().int().min(400).max(599).optional(),
    timeout: z.boolean().optional(),
    throttle: z.boolean().optional(),
    field: z.string().min(1).optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    reply: z
      .object({ status: z.number().int().min(200).max(599), body: z.unknown(), headers: z.record(z.string(), z.string()).optional() })
      .refine((r) => r.body !== undefined, { message: 'reply.body is required', path: ['body'] })
      .optional(),
  }),
  bucket: z.object({ available: z.number().min(0) }),
  webhookSettings: z.object({ retryDelaysMs: z.array(z.number().int().min(0)).optional(), timeoutMs: z.number().int().positive().optional() }),
};

class BadInput extends Error {}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : '(body)';
    throw new BadInput(`invalid field ${field}: ${issue.message}`);
  }
  return r.data;
}

type Params = { domain: string; id: string };

/** JSON control API under /_emulator/: seeding, merchant actions, faults, counters. */
export function registerControlRoutes(app: FastifyInstance, emulator: Emulator): void {
  const wrap =
    (fn: (p: Params, body: unknown, reply: FastifyReply) => unknown, status = 200) =>
    async (req: { params: unknown; body: unknown }, reply: FastifyReply) => {
      try {
        const out = await fn(req.params as Params, req.body, reply);
        if (reply.sent) return;
        return reply.code(status).send(out ?? { ok: true });
      } catch (e) {
        if (e instanceof BadInput) return reply.code(400).send({ error: e.message });
        if (e instanceof EmulatorError) return reply.code(e.status).send({ error: e.message, ...e.details });
        throw e;
      }
    };

  const p = '/_emulator';
  app.post(`${p}/reset`, wrap(() => emulator.reset()));
  app.post(`${p}/shops`, wrap((_p, b) => emulator.createShop(parse(schemas.shop, b)), 201));
  app.patch(`${p}/shops/:domain`, wrap((pp, b) => emulator.updateShop(pp.domain, parse(schemas.shopPatch, b))));
  app.post(`${p}/shops/:domain/locations`, wrap((pp, b) => emulator.createLocation(pp.domain, parse(schemas.location, b)), 201));
  app.post(`${p}/shops/:domain/products`, wrap((pp, b) => emulator.createProduct(pp.domain, parse(schemas.product, b)), 201));
  app.post(
    `${p}/shops/:domain/inventory`,
    wrap((pp, b) => {
      const input = parse(schemas.inventory, b);
      return emulator.setQuantities(pp.domain, input.inventoryItemId, input.locationId, input.quantities);
    }),
  );
  app.post(`${p}/shops/:domain/orders`, wrap((pp, b) => emulator.placeOrder(pp.domain, parse(schemas.order, b)), 201));
  app.get(`${p}/shops/:domain/orders/:id`, wrap((pp) => emulator.getOrder(pp.domain, pp.id)));
  app.post(`${p}/shops/:domain/orders/:id/cancel`, wrap((pp) => emulator.cancelOrder(pp.domain, pp.id)));
  app.post(`${p}/shops/:domain/orders/:id/fulfill`, wrap((pp, b) => emulator.fulfillOrder(pp.domain, pp.id, parse(schemas.fulfill, b ?? {}))));
  app.post(`${p}/shops/:domain/orders/:id/edit`, wrap((pp, b) => emulator.editOrder(pp.domain, pp.id, parse(schemas.edit, b))));
  app.post(
    `${p}/shops/:domain/fulfillment-orders/:id/move`,
    wrap((pp, b) => emulator.moveFulfillmentOrder(pp.domain, pp.id, parse(schemas.move, b).newLocationId)),
  );
  app.get(`${p}/shops/:domain/state`, wrap((pp) => emulator.snapshot(pp.domain)));
  app.get(`${p}/shops/:domain/counters`, wrap((pp) => emulator.counters(pp.domain)));
  app.get(`${p}/shops/:domain/adjustments`, wrap((pp) => emulator.adjustments(pp.domain)));
  app.get(`${p}/shops/:domain/webhooks`, wrap((pp) => emulator.webhookLog(pp.domain)));
  app.post(
    `${p}/shops/:domain/faults`,
    wrap((pp, b) => {
      const { clear, ...config } = parse(schemas.faults, b);
      const target = pp.domain === '*' || pp.domain === '%2A' ? '*' : pp.domain;
      if (clear) emulator.clearFaults(target);
      emulator.setFaults(target, config);
    }),
  );
  app.post(`${p}/faults`, wrap((_pp, b) => {
    const { clear, ...config } = parse(schemas.faults, b);
    if (clear) emulator.clearFaults('*');
    emulator.setFaults('*', config);
  }));
  app.post(`${p}/shops/:domain/faults/fail-next`, wrap((pp, b) => {
    const { count, ...fault } = parse(schemas.failNext, b);
    emulator.failNextRequests(pp.domain, count, fault);
  }));
  app.post(`${p}/shops/:domain/bucket`, wrap((pp, b) => emulator.setBucket(pp.domain, parse(schemas.bucket, b).available)));
  app.post(`${p}/webhooks/settings`, wrap((_pp, b) => emulator.setWebhookSettings(parse(schemas.webhookSettings, b))));
  app.post(`${p}/webhooks/drain`, wrap(async () => emulator.drainWebhooks()));
  app.get(`${p}/bulk/:domain/:id`, async (req, reply) => {
    const { domain, id: file } = req.params as Params;
    const m = /^(\d+)\.jsonl$/.exec(file);
    const body = m ? emulator.bulkResult(domain, Number(m[1])) : undefined;
    if (body === undefined) return reply.code(404).send({ error: 'no such bulk result' });
    // Streamed chunk by chunk with its length, as a file download is: a large export is never copied into one buffer.
    reply.header('content-length', body.reduce((n, c) => n + c.length, 0));
    return reply.type('application/jsonl').send(Readable.from(body));
  });
}
