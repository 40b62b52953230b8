import { z } from 'zod';
import { Errors } from './errors.js';
import type { OrderEvent, OrderEventKind, OrderLineRef } from './reservation-model.js';

/**
 * Shopify's order webhooks, read for what a reservation needs: ids, quantities, timestamps. Everything else the
 * payload carries (email, customer, addresses, client details, prices) is dropped here, before anything is
 * stored or signalled. Unknown fields are ignored (Shopify adds fields over versions).
 */
const id = z.union([z.number().int().nonnegative(), z.string().min(1)], { error: 'expected an id' }).transform((v) => String(v).replace(/^gid:\/\/shopify\/[A-Za-z]+\//, ''));
/**
 * A timestamp as Shopify, or another server that follows its documentation, may write it (RFC 3339 leaves room):
 * `T`, `t` or a space; seconds and fractions optional; `Z`, `z` or an offset with or without its colon. Returned as
 * UTC ISO. A stricter reading refused a genuine, signed delivery with a 400, and Shopify deletes a subscription
 * after 8 failed deliveries in a row.
 */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;
const TIMESTAMP_MESSAGE = 'expected an ISO 8601 timestamp with its offset, such as 2026-11-30T12:00:00Z or 2026-11-30T13:00:00+01:00';
function webhookTimestamp(value: string): string | null {
  const m = RFC3339.exec(value.trim());
  if (!m) return null;
  const zone = m[4]!;
  const offset = zone === 'Z' || zone === 'z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[3] ?? ':00'}${offset}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
const timestamp = z.string({ error: TIMESTAMP_MESSAGE }).transform((v, ctx) => {
  const iso = webhookTimestamp(v);
  if (iso === null) {
    ctx.addIssue({ code: 'custom', message: TIMESTAMP_MESSAGE });
    return z.NEVER;
  }
  return iso;
});

const lineItem = z.object({
  id,
  variant_id: id.nullable().optional(),
  sku: z.string().nullable().optional(),
  quantity: z.number({ error: 'expected a number' }).int().nonnegative(),
  current_quantity: z.number().int().nonnegative().optional(),
  fulfillable_quantity: z.number().int().nonnegative().optional(),
});

const order = z.object({
  id,
  updated_at: timestamp,
  cancelled_at: timestamp.nullable().optional(),
  fulfillment_status: z.string().nullable().optional(),
  location_id: id.nullable().optional(),
  source_name: z.string().nullable().optional(),
  line_items: z.array(lineItem, { error: 'expected an array of line items' }),
});

const orderEdit = z.object({
  order_edit: z.object({ order_id: id, created_at: timestamp, committed_at: timestamp.nullable().optional() }),
});

const moved = z.object({
  original_fulfillment_order: z.object({ id }),
  moved_fulfillment_order: z.object({ id }).nullable().optional(),
});

export const HANDLED_ORDER_TOPICS: Record<string, OrderEventKind> = {
  'orders/create': 'created',
  'orders/updated': 'updated',
  'orders/edited': 'edited',
  'orders/cancelled': 'cancelled',
  'orders/fulfilled': 'fulfilled',
  'orders/partially_fulfilled': 'updated',
  'fulfillment_orders/moved': 'moved',
};

export type ParsedOrderWebhook =
  | { target: 'order'; orderId: string; event: OrderEvent }
  /** Names fulfillment orders only: the caller finds the order they belong to. */
  | { target: 'fulfillment_orders'; fulfillmentOrderIds: string[]; event: OrderEvent };

export type SchemaCheck = <S extends z.ZodType>(schema: S, value: unknown) => z.output<S>;

/** Parses a handled topic's body into the signal the order's workflow receives (ids and quantities only). */
export function parseOrderWebhook(topic: string, body: unknown, meta: { deliveryId: string; triggeredAt: string }, check: SchemaCheck): ParsedOrderWebhook {
  const kind = HANDLED_ORDER_TOPICS[topic];
  if (!kind) throw new Error(`topic ${topic} is not handled`);
  if (kind === 'moved') {
    const m = check(moved, body);
    return {
      target: 'fulfillment_orders',
      fulfillmentOrderIds: [m.original_fulfillment_order.id, ...(m.moved_fulfillment_order ? [m.moved_fulfillment_order.id] : [])],
      event: { kind, origin: 'shopify', at: meta.triggeredAt, deliveryId: meta.deliveryId },
    };
  }
  if (kind === 'edited' && typeof body === 'object' && body !== null && 'order_edit' in body) {
    const e = check(orderEdit, body).order_edit;
    return { target: 'order', orderId: shopifyOrderId(e.order_id), event: { kind, origin: 'shopify', at: e.committed_at ?? e.created_at, deliveryId: meta.deliveryId } };
  }
  const o = check(order, body);
  // The HMAC covers the body, not the X-Shopify-Topic header: the signed payload says what happened, and a topic
  // that claims more (a signed create re-sent as orders/fulfilled) is refused.
  const stated = statedKind(o);
  if ((kind === 'cancelled' || kind === 'fulfilled') && stated !== kind) {
    throw Errors.WebhookTopicMismatch(`X-Shopify-Topic ${topic} contradicts the signed payload, which is ${stated === 'open' ? 'neither cancelled nor fulfilled' : stated}`, { topic, payload: stated });
  }
  const effective: OrderEventKind = stated === 'open' ? kind : stated;
  const lines: OrderLineRef[] = o.line_items.map((l) => ({
    lineId: l.id,
    variantId: l.variant_id ?? null,
    sku: l.sku ?? null,
    quantity: l.current_quantity ?? l.quantity,
    ...(l.fulfillable_quantity === undefined ? {} : { fulfillable: l.fulfillable_quantity }),
  }));
  return {
    target: 'order',
    orderId: shopifyOrderId(o.id),
    event: {
      kind: effective,
      origin: 'shopify',
      at: o.updated_at,
      deliveryId: meta.deliveryId,
      lines,
      posShopifyLocationId: o.source_name === 'pos' && o.location_id ? o.location_id : null,
    },
  };
}

/** What the signed order says of itself: cancelled (cancelled_at), fulfilled (its status, or nothing left to fulfil), or open. */
function statedKind(o: z.output<typeof order>): 'cancelled' | 'fulfilled' | 'open' {
  if (o.cancelled_at) return 'cancelled';
  if (o.fulfillment_status === 'fulfilled') return 'fulfilled';
  const nothingLeft = o.line_items.length > 0 && o.line_items.every((l) => l.fulfillable_quantity === 0);
  if (o.fulfillment_status === undefined && nothingLeft) return 'fulfilled';
  return 'open';
}

/** Shopify order ids are numbers; a colon would reach into the id space of our channels' orders (ext:...). */
function shopifyOrderId(id: string): string {
  if (id.includes(':') || id.length > 64) throw Errors.PayloadInvalid('id: expected a Shopify order id', { field: 'id' });
  return id;
}
