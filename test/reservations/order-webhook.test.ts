import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseOrderWebhook } from '../../src/domain/order-webhook.js';
import { externalClaimLines, isOlder, stateOfLines, unconfirmedClaims } from '../../src/domain/reservation-model.js';
import { parsePayload } from '../../src/starters/http/payload.js';

const check = <S extends z.ZodType>(schema: S, value: unknown) => parsePayload(schema, value, 'test');
const meta = { deliveryId: 'wh-1', triggeredAt: '2026-11-30T09:00:05Z' };
const order = {
  id: 5001,
  updated_at: '2026-11-30T04:00:00-05:00',
  cancelled_at: null,
  fulfillment_status: null,
  source_name: 'web',
  location_id: null,
  email: 'ada@example.com',
  customer: { first_name: 'Ada', last_name: 'Lovelace' },
  shipping_address: { address1: '1 Example Street' },
  some_future_field: { anything: true },
  line_items: [{ id: 9001, variant_id: 'gid://shopify/ProductVariant/77', sku: null, quantity: 3, current_quantity: 2, price: '9.00', properties: [] }],
};

describe('Shopify order webhooks become signals of ids and quantities', () => {
  it('keeps only what a reservation needs, ignores unknown fields, normalises ids', () => {
    const parsed = parseOrderWebhook('orders/create', order, meta, check);
    expect(parsed).toEqual({
      target: 'order',
      orderId: '5001',
      event: { kind: 'created', origin: 'shopify', at: '2026-11-30T09:00:00.000Z', deliveryId: 'wh-1', posShopifyLocationId: null, lines: [{ lineId: '9001', variantId: '77', sku: null, quantity: 2 }] },
    });
    expect(JSON.stringify(parsed)).not.toMatch(/ada|Lovelace|Example Street/i);
  });

  it('reads cancellation and fulfilment from the payload of orders/updated', () => {
    expect(parseOrderWebhook('orders/updated', { ...order, cancelled_at: '2026-11-30T10:00:00Z' }, meta, check).event.kind).toBe('cancelled');
    expect(parseOrderWebhook('orders/updated', { ...order, fulfillment_status: 'fulfilled' }, meta, check).event.kind).toBe('fulfilled');
    expect(parseOrderWebhook('orders/partially_fulfilled', order, meta, check).event.kind).toBe('updated');
  });

  it('carries the POS location, and understands the order_edit shape of orders/edited', () => {
    expect(parseOrderWebhook('orders/create', { ...order, source_name: 'pos', location_id: 42 }, meta, check).event.posShopifyLocationId).toBe('42');
    const edited = parseOrderWebhook('orders/edited', { order_edit: { id: 1, order_id: 5001, created_at: '2026-11-30T09:00:00Z', committed_at: '2026-11-30T09:00:02Z', line_items: {} } }, meta, check);
    expect(edited).toMatchObject({ target: 'order', orderId: '5001', event: { kind: 'edited', at: '2026-11-30T09:00:02.000Z' } });
  });

  it('routes fulfillment_orders/moved by fulfillment order ids', () => {
    const moved = parseOrderWebhook('fulfillment_orders/moved', { original_fulfillment_order: { id: 'gid://shopify/FulfillmentOrder/11' }, moved_fulfillment_order: { id: 'gid://shopify/FulfillmentOrder/12' } }, meta, check);
    expect(moved).toMatchObject({ target: 'fulfillment_orders', fulfillmentOrderIds: ['11', '12'], event: { kind: 'moved', at: meta.triggeredAt } });
  });

  it('reads a timestamp in any form RFC 3339 allows, as the same instant in UTC (a 400 to a signed delivery ends in Shopify deleting the subscription)', () => {
    for (const form of ['2026-11-30T04:00:00-05:00', '2026-11-30T04:00:00-0500', '2026-11-30t09:00:00z', '2026-11-30 09:00:00Z', '2026-11-30T09:00Z', '2026-11-30T09:00:00.000+00:00']) {
      expect(parseOrderWebhook('orders/create', { ...order, updated_at: form }, meta, check).event.at, form).toBe('2026-11-30T09:00:00.000Z');
    }
    expect(() => parseOrderWebhook('orders/create', { ...order, updated_at: '2026-11-30' }, meta, check)).toThrow(/updated_at: expected an ISO 8601 timestamp with its offset/);
  });

  it('names the offending field', () => {
    expect(() => parseOrderWebhook('orders/create', { ...order, updated_at: 'yesterday' }, meta, check)).toThrow(/updated_at/);
    expect(() => parseOrderWebhook('orders/create', { ...order, line_items: [{ id: 1, quantity: -1 }] }, meta, check)).toThrow(/line_items\.0\.quantity/);
  });
});

describe('reservation rules', () => {
  it('derives the state from the lines; confirmed units count as allocated and are not released', () => {
    expect(stateOfLines([])).toBe('open');
    expect(stateOfLines([{ claimed: 2, allocated: 0, awaitingWms: 0 }])).toBe('claimed');
    expect(stateOfLines([{ claimed: 2, allocated: 0, awaitingWms: 2 }])).toBe('allocated');
    expect(stateOfLines([{ claimed: 3, allocated: 1, awaitingWms: 1 }])).toBe('partially_allocated');
    expect(unconfirmedClaims([{ claimed: 3, awaitingWms: 1 }, { claimed: 1, awaitingWms: 1 }])).toBe(2);
  });

  it('compares order timestamps as instants', () => {
    expect(isOlder('2026-11-30T04:00:00-05:00', '2026-11-30T09:00:01Z')).toBe(true);
    expect(isOlder('2026-11-30T09:00:00.000Z', '2026-11-30T09:00:00Z')).toBe(false);
    expect(isOlder('2026-11-30T09:00:00Z', null)).toBe(false);
  });

  it('adds up repeated lines of an external order per (line, location)', () => {
    expect(externalClaimLines([{ lineId: 'a', sku: 'S', locationId: 'W', quantity: 1 }, { lineId: 'a', sku: 'S', locationId: 'W', quantity: 2 }])).toEqual([{ lineId: 'a@W', sku: 'S', locationId: 'W', quantity: 3 }]);
  });
});
