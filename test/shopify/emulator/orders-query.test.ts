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
});
