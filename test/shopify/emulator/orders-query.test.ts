import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../src/shopify/emulator/index.js';
import { gql, seed, start, SHOP_A, type Seeded } from './helpers.js';

const ORDERS = /* GraphQL */ `
  query Orders($query: String, $after: String) {
    orders(first: 2, after: $after, query: $query) {
      nodes { id name updatedAt cancelledAt lineItems(first: 10) { nodes { sku quantity variant { id } } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

describe('emulator: orders query (what reconciliation uses to find orders whose webhooks were lost)', () => {
  let run: RunningEmulator;
  let shop: Seeded;
  beforeAll(async () => {
    run = await start();
    shop = seed(run, 2);
  });
  afterAll(async () => run?.close());

  it('lists orders by updated_at range and status, paginated, with their lines', async () => {
    const e = run.emulator;
    const first = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    await new Promise((r) => setTimeout(r, 5));
    const cutoff = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const second = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-2', quantity: 2 }] });
    const third = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    e.cancelOrder(SHOP_A, third.id);

    const recent = await gql(run.url, ORDERS, { query: `updated_at:>=${cutoff}` });
    expect(recent.body.data.orders.nodes.map((o: any) => o.id)).toEqual([second.id, third.id]);
    expect(recent.body.data.orders.nodes[0].lineItems.nodes).toEqual([{ sku: 'SKU-2', quantity: 2, variant: { id: shop.items[1]!.variantId } }]);

    const open = await gql(run.url, ORDERS, { query: 'status:open' });
    expect(open.body.data.orders.nodes.map((o: any) => o.id)).toEqual([first.id, second.id]);
    expect(open.body.data.orders.pageInfo.hasNextPage).toBe(false);

    const page1 = await gql(run.url, ORDERS, {});
    expect(page1.body.data.orders.pageInfo.hasNextPage).toBe(true);
    const page2 = await gql(run.url, ORDERS, { after: page1.body.data.orders.pageInfo.endCursor });
    expect(page2.body.data.orders.nodes.map((o: any) => o.id)).toEqual([third.id]);
    // a connection of 2 orders each with a connection of 10 lines: 2 + 2 * (1 + 2 + 10 * 2)
    expect(page1.body.extensions.cost.requestedQueryCost).toBe(48);
  });

  it('filters out fulfilled orders and reports what is still to ship', async () => {
    const e = run.emulator;
    const shipped = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-1', quantity: 1 }] });
    e.fulfillOrder(SHOP_A, shipped.id);
    const waiting = e.placeOrder(SHOP_A, { lines: [{ sku: 'SKU-2', quantity: 2 }] });
    const query = /* GraphQL */ `query($q: String) { orders(first: 50, query: $q) { nodes { id displayFulfillmentStatus lineItems(first: 5) { nodes { unfulfilledQuantity } } } } }`;
    const res = await gql(run.url, query, { q: 'status:open -fulfillment_status:fulfilled' });
    const ids = res.body.data.orders.nodes.map((o: any) => o.id);
    expect(ids).toContain(waiting.id);
    expect(ids).not.toContain(shipped.id);
    const all = await gql(run.url, query, { q: `id:${shipped.id.split('/').pop()}` });
    expect(all.body.data.orders.nodes).toEqual([{ id: shipped.id, displayFulfillmentStatus: 'FULFILLED', lineItems: { nodes: [{ unfulfilledQuantity: 0 }] } }]);
  });
});
