import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../src/shopify/emulator/index.js';
import { SET_MUTATION, SHOP_A, client, gql, seed, setVars, start, type Seeded } from './helpers.js';

let run: RunningEmulator;
let s: Seeded;

beforeEach(async () => {
  run ??= await start();
  run.emulator.reset();
  s = seed(run, 5);
});
afterAll(async () => run?.close());

const ITEMS = /* GraphQL */ `
  query Items($first: Int!, $after: String, $q: String) {
    inventoryItems(first: $first, after: $after, query: $q) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id sku } }
      nodes { id inventoryLevels(first: 5) { nodes { location { id } isActive quantities(names: ["available", "committed", "on_hand"]) { name quantity updatedAt } } } }
    }
  }`;

describe('queries', () => {
  it('pages inventory items with cursors and reads quantities by name', async () => {
    const c = client(run.url);
    const p1 = await c.request(ITEMS, { variables: { first: 2 } });
    expect(p1.data.inventoryItems.edges.map((e: { node: { sku: string } }) => e.node.sku)).toEqual(['SKU-1', 'SKU-2']);
    expect(p1.data.inventoryItems.pageInfo.hasNextPage).toBe(true);
    const levels = p1.data.inventoryItems.nodes[0].inventoryLevels.nodes;
    expect(levels).toHaveLength(2);
    expect(levels[0].quantities.map((x: { name: string; quantity: number }) => [x.name, x.quantity])).toEqual([
      ['available', 10],
      ['committed', 0],
      ['on_hand', 10],
    ]);
    expect(typeof levels[0].quantities[0].updatedAt).toBe('string');
    const p3 = await c.request(ITEMS, { variables: { first: 2, after: (await c.request(ITEMS, { variables: { first: 2, after: p1.data.inventoryItems.pageInfo.endCursor } })).data.inventoryItems.pageInfo.endCursor } });
    expect(p3.data.inventoryItems.nodes.map((n: { id: string }) => n.id)).toEqual([s.items[4]!.inventoryItemId]);
    expect(p3.data.inventoryItems.pageInfo.hasNextPage).toBe(false);
  });

  it('finds variants by sku and gives their inventory item', async () => {
    const res = await gql(run.url, `{ productVariants(first: 5, query: "sku:SKU-3") { nodes { id sku inventoryItem { id } } } }`);
    expect(res.body.data.productVariants.nodes).toEqual([{ id: s.items[2]!.variantId, sku: 'SKU-3', inventoryItem: { id: s.items[2]!.inventoryItemId } }]);
    const items = await gql(run.url, `{ inventoryItems(first: 5, query: "sku:SKU-1 OR sku:SKU-5") { nodes { sku } } }`);
    expect(items.body.data.inventoryItems.nodes).toEqual([{ sku: 'SKU-1' }, { sku: 'SKU-5' }]);
  });

  it('locations, inventoryLevel by id, nodes(ids:)', async () => {
    const res = await gql(
      run.url,
      `query($id: ID!, $ids: [ID!]!) { locations(first: 10) { nodes { id name } } inventoryItem(id: $id) { inventoryLevel(locationId: "${s.locA}") { id } } nodes(ids: $ids) { id ... on InventoryItem { sku } } }`,
      { id: s.items[0]!.inventoryItemId, ids: [s.items[1]!.inventoryItemId, 'gid://shopify/InventoryItem/1'] },
    );
    expect(res.body.data.locations.nodes).toEqual([
      { id: s.locA, name: 'Warehouse A' },
      { id: s.locB, name: 'Store B' },
    ]);
    const levelId = res.body.data.inventoryItem.inventoryLevel.id;
    expect(levelId).toMatch(/^gid:\/\/shopify\/InventoryLevel\/\d+\?inventory_item_id=\d+$/);
    expect(res.body.data.nodes).toEqual([{ id: s.items[1]!.inventoryItemId, sku: 'SKU-2' }, null]);
    const lvl = await gql(run.url, `query($id: ID!) { inventoryLevel(id: $id) { quantities(names: ["available"]) { quantity } } }`, { id: levelId });
    expect(lvl.body.data.inventoryLevel.quantities[0].quantity).toBe(10);
  });

  it('refuses first > 250 and a connection without first/last', async () => {
    const big = await gql(run.url, `{ inventoryItems(first: 251) { nodes { id } } }`);
    expect(big.body.data).toBeUndefined();
    expect(big.body.errors[0].message).toContain('250');
    const none = await gql(run.url, `{ inventoryItems { nodes { id } } }`);
    expect(none.body.errors[0].message).toBe('you must provide one of first or last');
  });
});

describe('cost and throttling', () => {
  it('requested cost by the rules; actual cost counts what came back and the difference is refunded', async () => {
    // inventoryItems: 2 + 10 x (1 node + inventoryLevels: 2 + 5 x (1 + location 1)) = 2 + 10 x 13 = 132
    const q = `{ inventoryItems(first: 10) { nodes { id inventoryLevels(first: 5) { nodes { location { id } } } } } }`;
    const res = await gql(run.url, q);
    // actual: 5 items, 2 levels each: 2 + 5 x (1 + 2 + 2 x 2) = 37
    expect(res.body.extensions.cost).toEqual({
      requestedQueryCost: 132,
      actualQueryCost: 37,
      throttleStatus: { maximumAvailable: 2000, currentlyAvailable: expect.any(Number), restoreRate: 100 },
    });
    expect(res.body.extensions.cost.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(2000 - 37);
    expect(run.emulator.counters(SHOP_A).costSpent).toBe(37);
  });

  it('refuses a query over 1000 points with MAX_COST_EXCEEDED, charging nothing', async () => {
    const res = await gql(run.url, `{ inventoryItems(first: 250) { nodes { id inventoryLevels(first: 10) { nodes { id } } } } }`);
    expect(res.body.errors[0].extensions.code).toBe('MAX_COST_EXCEEDED');
    expect(res.body.errors[0].extensions.cost).toBe(2 + 250 * (1 + 2 + 10));
    expect(res.body.extensions.cost.actualQueryCost).toBeNull();
    expect(run.emulator.counters(SHOP_A).costSpent).toBe(0);
  });

  it('drains the bucket, answers THROTTLED without applying, then succeeds after the restore', async () => {
    // 250 more items so a page of 250 returns 250: 2 + 250 = 252 points each time.
    for (let i = 0; i < 245; i++) run.emulator.createProduct(SHOP_A, { sku: `BULK-${i}` });
    const page = `{ inventoryItems(first: 250) { nodes { id } } }`;
    let throttledAt = -1;
    let throttled: any;
    for (let i = 0; i < 12; i++) {
      const r = await gql(run.url, page);
      if (r.body.errors?.[0]?.extensions?.code === 'THROTTLED') {
        throttledAt = i;
        throttled = r.body;
        break;
      }
      expect(r.body.extensions.cost.actualQueryCost).toBe(252);
    }
    // 7 x 252 = 1764 always fits in 2000; the refill (100/s) decides whether the 8th or a later call is refused.
    expect(throttledAt).toBeGreaterThanOrEqual(7);
    expect(throttled.data).toBeUndefined();
    expect(throttled.extensions.cost.requestedQueryCost).toBe(252);
    expect(throttled.extensions.cost.actualQueryCost).toBeNull();
    expect(throttled.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThan(252);
    const vars = setVars([{ inventoryItemId: s.items[0]!.inventoryItemId, locationId: s.locA, quantity: 3, changeFromQuantity: 10 }], 'k-throttle');
    run.emulator.setBucket(SHOP_A, 0);
    const t = await gql(run.url, SET_MUTATION, vars);
    expect(t.status).toBe(200);
    expect(t.body).toEqual({
      errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: expect.any(String) } }],
      extensions: { cost: { requestedQueryCost: 10, actualQueryCost: null, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: expect.any(Number), restoreRate: 100 } } },
    });
    // Emptied just before; the refill (100/s) during the call does not reach the 10 a mutation costs.
    expect(t.body.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThan(10);
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(10);
    await new Promise((r) => setTimeout(r, 150)); // 100 points/s: 15 >= 10
    const ok = await gql(run.url, SET_MUTATION, vars);
    expect(ok.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(3);
    expect(run.emulator.counters(SHOP_A).throttled).toBe(2);
  });

  it('forced throttling can answer 429 with Retry-After in seconds', async () => {
    run.emulator.setFaults(SHOP_A, { forceThrottle: true, throttleHttpStatus: 429 });
    const r = await gql(run.url, `{ locations(first: 1) { nodes { id } } }`);
    expect(r.status).toBe(429);
    expect(r.body.errors[0].extensions.code).toBe('THROTTLED');
    expect(r.headers.get('retry-after')).toBe('1');
  });

  it('restore rate and bucket size follow the plan', async () => {
    run.emulator.createShop({ domain: 'plus.myshopify.com', accessToken: 'tok-plus', plan: 'plus' });
    const r = await gql(run.url, `{ shop { name } }`, {}, { shop: 'plus.myshopify.com', token: 'tok-plus' });
    expect(r.body.extensions.cost.throttleStatus).toMatchObject({ maximumAvailable: 10000, restoreRate: 1000 });
    expect(r.body.extensions.cost.throttleStatus.currentlyAvailable).toBeGreaterThanOrEqual(9999);
  });
});
