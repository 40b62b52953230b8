import { gid } from './ids.js';
import { fulfillmentStatus, type Order } from './order-records.js';
import type { LevelRecord } from './state.js';

/** Shopify's REST shapes of an order and an inventory level, as its webhooks deliver them. */

const FIRST = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Turing', 'Liskov'];

/** Deliberately realistic fake personal data: the service under test must prove it strips it. */
function fakePerson(n: number) {
  const first = FIRST[n % FIRST.length]!;
  const last = LAST[(n >> 1) % LAST.length]!;
  const email = `${first}.${last}.${n}@example.com`.toLowerCase();
  const phone = `+1555${String(1000000 + n).slice(-7)}`;
  const address = {
    first_name: first,
    last_name: last,
    name: `${first} ${last}`,
    address1: `${100 + (n % 900)} Example Street`,
    address2: null,
    city: 'Springfield',
    province: 'Oregon',
    province_code: 'OR',
    zip: '97477',
    country: 'United States',
    country_code: 'US',
    phone,
    company: null,
    latitude: null,
    longitude: null,
  };
  return { first, last, email, phone, address };
}

function remainingFor(order: Order, lineItemId: number): number {
  return order.fulfillmentOrders
    .filter((f) => f.status === 'OPEN' || f.status === 'IN_PROGRESS')
    .flatMap((f) => f.lines)
    .filter((l) => l.lineItemId === lineItemId)
    .reduce((s, l) => s + l.remainingQuantity, 0);
}

export function orderToRest(order: Order): Record<string, unknown> {
  const p = fakePerson(order.number);
  const total = order.lineItems.reduce((s, l) => s + Number(l.price) * l.currentQuantity, 0).toFixed(2);
  const customerId = 7_000_000 + order.number;
  return {
    id: order.id,
    admin_graphql_api_id: gid('Order', order.id),
    name: order.name,
    order_number: order.number,
    number: order.number - 1000,
    email: p.email,
    contact_email: p.email,
    phone: p.phone,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
    processed_at: order.createdAt,
    cancelled_at: order.cancelledAt,
    cancel_reason: order.cancelledAt ? 'customer' : null,
    closed_at: null,
    confirmed: true,
    test: false,
    currency: 'USD',
    presentment_currency: 'USD',
    financial_status: order.cancelledAt ? 'refunded' : 'paid',
    fulfillment_status: fulfillmentStatus(order),
    source_name: order.sourceName,
    location_id: order.locationId,
    total_price: total,
    subtotal_price: total,
    total_tax: '0.00',
    total_discounts: '0.00',
    tags: '',
    note: null,
    browser_ip: '203.0.113.7',
    client_details: { browser_ip: '203.0.113.7', user_agent: 'Mozilla/5.0 (emulator)', accept_language: 'en-US' },
    customer: {
      id: customerId,
      admin_graphql_api_id: gid('Customer', customerId),
      email: p.email,
      first_name: p.first,
      last_name: p.last,
      phone: p.phone,
      state: 'enabled',
      verified_email: true,
      default_address: { ...p.address, id: customerId + 1, customer_id: customerId, default: true },
    },
    billing_address: p.address,
    shipping_address: p.address,
    line_items: order.lineItems.map((l) => ({
      id: l.id,
      admin_graphql_api_id: gid('LineItem', l.id),
      variant_id: l.variantId,
      product_id: l.productId,
      sku: l.sku,
      name: l.name,
      title: l.name,
      variant_title: null,
      vendor: 'Emulator',
      quantity: l.quantity,
      current_quantity: l.currentQuantity,
      fulfillable_quantity: order.cancelledAt ? 0 : remainingFor(order, l.id),
      fulfillment_status: l.fulfilledQuantity === 0 ? null : l.fulfilledQuantity >= l.currentQuantity ? 'fulfilled' : 'partial',
      fulfillment_service: 'manual',
      requires_shipping: true,
      taxable: true,
      gift_card: false,
      product_exists: true,
      price: l.price,
      total_discount: '0.00',
      grams: 0,
      properties: [],
      tax_lines: [],
      discount_allocations: [],
    })),
    fulfillments: [],
    refunds: [],
  };
}

export function levelToRest(level: LevelRecord): Record<string, unknown> {
  return {
    inventory_item_id: level.itemId,
    location_id: level.locationId,
    available: level.quantities.available,
    updated_at: level.updatedAt.available ?? level.createdAt,
    admin_graphql_api_id: `gid://shopify/InventoryLevel/${level.locationId}?inventory_item_id=${level.itemId}`,
  };
}
