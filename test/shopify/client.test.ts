import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetAvailableEntry } from '../../src/shopify/client/index.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { clientFixture, rejection, type Shop } from './client-fixture.js';
import { DEFAULT_API_VERSION } from '../../src/shopify/client/admin-client.js';
import { ACTIVE_LOCATIONS_PROBE_COST, ORDER_FULFILLMENT, orderFulfillmentCost, orderFulfillmentPage, orderFulfillmentQuery } from '../../src/shopify/client/documents.js';

let running: RunningEmulator;
beforeAll(async () => {
  running = await startEmulator({ logger: false });
});
afterAll(() => running.close());

const { seedShop, clientFor } = clientFixture(() => running, 'SKU');

const available = (shop: Shop, item: string, location: string) => running.emulator.getLevel(shop.domain, item, location).available;
const counters = (shop: Shop) => running.emulator.counters(shop.domain);

function entriesFor(shop: Shop, quantity: (i: number) => number, from: number | null = 0): SetAvailableEntry[] {
  return shop.items.map((inventoryItemId, i) => ({ inventoryItemId, locationId: shop.locations[0]!, quantity: quantity(i), changeFromQuantity: from }));
}


describe('Shopify client against the emulator: guarded writes', () => {
  it('sends 1,000 updates in 4 calls of at most 250 and applies every one', async () => {
    const shop = seedShop(1000);
    const results = await clientFor(shop).setAvailable(entriesFor(shop, (i) => (i % 90) + 1), { keySalt: 'v1' });

    expect(results.every((r) => r.status === 'applied')).toBe(true);
    const c = counters(shop);
    expect(c.calls).toBe(4);
    expect(c.mutationsApplied).toBe(4);
    expect(c.costSpent).toBe(40);
    shop.items.forEach((item, i) => expect(available(shop, item, shop.locations[0]!)).toBe((i % 90) + 1));
  });

  it('drains a throttled burst without losing or doubling an entry', async () => {
    const shop = seedShop(3000);
    running.emulator.setBucket(shop.domain, 0);
    running.emulator.setFaults(shop.domain, { forceThrottle: true });
    const stopForcing = setTimeout(() => running.emulator.clearFaults(shop.domain), 400);
    try {
      const results = await clientFor(shop).setAvailable(entriesFor(shop, (i) => i + 5), { keySalt: 'burst' });
      expect(results.filter((r) => r.status !== 'applied')).toEqual([]);
    } finally {
      clearTimeout(stopForcing);
    }
    const c = counters(shop);
    expect(c.throttled).toBeGreaterThan(0);
    expect(c.mutationsApplied).toBe(12);
    expect(Object.values(c.mutationsAppliedByKey).every((n) => n === 1)).toBe(true);
    shop.items.forEach((item, i) => expect(available(shop, item, shop.locations[0]!)).toBe(i + 5));
  });

  it('backs off when Shopify throttles with a full bucket, and succeeds once the burst ends', async () => {
    // The bucket holds far more than the cost, yet every call is THROTTLED for 1.5 s (the chaos harness's burst).
    // The refill wait is 0 ms: retrying at once spent the 40 attempts within milliseconds and failed.
    const shop = seedShop(3, 1, 10);
    running.emulator.setFaults(shop.domain, { forceThrottle: true });
    const stopForcing = setTimeout(() => running.emulator.clearFaults(shop.domain), 1500);
    try {
      const results = await clientFor(shop).setAvailable(entriesFor(shop, () => 6, 10), { keySalt: 'full-bucket' });
      expect(results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    } finally {
      clearTimeout(stopForcing);
    }
    const c = counters(shop);
    expect(c.throttled).toBeGreaterThan(0);
    expect(c.throttled).toBeLessThan(40);
    expect(c.mutationsApplied).toBe(1);
  });

  it('backs off on a 429 that says Retry-After: 0 (another compatible server), and succeeds once the burst ends', async () => {
    // A server in front of the emulator answers every call THROTTLED with Retry-After: 0 and no cost for 1.5 s.
    // Taking the header as the whole wait sent every attempt at once and failed the call.
    const shop = seedShop(3, 1, 10);
    const until = Date.now() + 1500;
    let refused = 0;
    const front = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (Date.now() < until) {
          refused++;
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
          return void res.end(JSON.stringify({ errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }] }));
        }
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
        void fetch(`${running.url}${req.url}`, { method: 'POST', headers, body: Buffer.concat(chunks) }).then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await r.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
      const results = await clientFor(shop, { baseUrl: url }).setAvailable(entriesFor(shop, () => 7, 10), { keySalt: 'retry-after-0' });
      expect(results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    } finally {
      front.close();
    }
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(40);
  });

  it('retries a 5xx that came after the write applied with the same key, and it applies once', async () => {
    const shop = seedShop(3, 1, 10);
    running.emulator.failNextRequests(shop.domain, 1, { afterApply: true, status: 500 });
    const results = await clientFor(shop).setAvailable(entriesFor(shop, () => 4, 10), { keySalt: 'v9' });

    expect(results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    const c = counters(shop);
    expect(c.errors5xx).toBe(1);
    expect(c.calls).toBe(2);
    expect(c.idempotentReplays).toBe(1);
    expect(Object.values(c.mutationsAppliedByKey)).toEqual([1]);
    for (const item of shop.items) expect(available(shop, item, shop.locations[0]!)).toBe(4);
  });

  it('derives the same key when the caller repeats a write whose response was lost, so it applies once', async () => {
    const shop = seedShop(3, 1, 5);
    running.emulator.setFaults(shop.domain, { failAfterApply5xxRate: 1 });
    const entries = entriesFor(shop, () => 9, 5);
    const gaveUp = await rejection(clientFor(shop, { retry: { maxAttempts: 2, baseDelayMs: 5 } }).setAvailable(entries, { keySalt: 'v4' }));
    expect(gaveUp.code).toBe('ISYNC_SHOPIFY_UNAVAILABLE');
    running.emulator.clearFaults(shop.domain);

    // A new client, entries in another order: as after a worker restart that retries the activity.
    const results = await clientFor(shop).setAvailable([...entries].reverse(), { keySalt: 'v4' });
    expect(results.every((r) => r.status === 'applied')).toBe(true);
    expect(Object.values(counters(shop).mutationsAppliedByKey)).toEqual([1]);
    for (const item of shop.items) expect(available(shop, item, shop.locations[0]!)).toBe(9);
  });

  it('reports a stale compare with the quantity Shopify holds, and applies the rest of the chunk', async () => {
    const shop = seedShop(10, 1, 20);
    // Someone else sells three units of item 3 after we read 20.
    running.emulator.setQuantities(shop.domain, shop.items[3]!, shop.locations[0]!, { available: 17 });
    const results = await clientFor(shop).setAvailable(entriesFor(shop, () => 25, 20), { keySalt: 'v2' });

    expect(results[3]).toMatchObject({ inventoryItemId: shop.items[3], status: 'stale', actual: 17 });
    expect(results.filter((r) => r.status === 'applied')).toHaveLength(9);
    shop.items.forEach((item, i) => expect(available(shop, item, shop.locations[0]!)).toBe(i === 3 ? 17 : 25));
  });

  it('derives a new key for a changed request, so a recomputed write after a stale compare is not refused', async () => {
    const shop = seedShop(1, 1, 20);
    const client = clientFor(shop);
    const entry = { inventoryItemId: shop.items[0]!, locationId: shop.locations[0]!, quantity: 25, changeFromQuantity: 19 };
    expect((await client.setAvailable([entry], { keySalt: 'v3' }))[0]).toMatchObject({ status: 'stale', actual: 20 });
    expect((await client.setAvailable([{ ...entry, changeFromQuantity: 20 }], { keySalt: 'v3' }))[0]).toMatchObject({ status: 'applied', quantityAfter: 25 });
    expect(available(shop, shop.items[0]!, shop.locations[0]!)).toBe(25);
  });

  it('answers an entry Shopify refuses with its userError code and still applies the others', async () => {
    const shop = seedShop(4);
    const entries = entriesFor(shop, () => 3);
    entries[1] = { ...entries[1]!, quantity: 2_000_000_000 };
    entries[2] = { ...entries[2]!, inventoryItemId: 'gid://shopify/InventoryItem/999999999' };
    const results = await clientFor(shop).setAvailable(entries, { keySalt: 'v1' });

    expect(results[1]).toMatchObject({ status: 'error', code: 'INVALID_QUANTITY_TOO_HIGH' });
    expect(results[2]).toMatchObject({ status: 'error', code: 'INVALID_INVENTORY_ITEM' });
    expect([results[0]!.status, results[3]!.status]).toEqual(['applied', 'applied']);
    expect(available(shop, shop.items[3]!, shop.locations[0]!)).toBe(3);
  });

  it('waits for a key another process still has in flight and then takes its result instead of applying twice', async () => {
    const shop = seedShop(2);
    running.emulator.setFaults(shop.domain, { latencyMs: 150 });
    const entries = entriesFor(shop, () => 8);
    const [a, b] = await Promise.all([
      clientFor(shop).setAvailable(entries, { keySalt: 'same' }),
      clientFor(shop).setAvailable(entries, { keySalt: 'same' }),
    ]);
    expect([...a, ...b].every((r) => r.status === 'applied')).toBe(true);
    expect(Object.values(counters(shop).mutationsAppliedByKey)).toEqual([1]);
  });
});

describe('Shopify client against the emulator: throttling, failures and typed errors', () => {
  it('retries IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED once with a new derived key', async () => {
    // The emulator has no way to produce this code, so the first mutation's answer is replaced in transit.
    const shop = seedShop(2);
    const keys: string[] = [];
    const fetchImpl: typeof fetch = async (url, init) => {
      const body = JSON.parse(String(init?.body)) as { variables?: { idempotencyKey?: string } };
      const key = body.variables?.idempotencyKey;
      if (key !== undefined) keys.push(key);
      if (keys.length === 1 && key !== undefined) {
        const payload = { inventoryAdjustmentGroup: null, userErrors: [{ code: 'IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED', field: null, message: 'use a new key' }] };
        return Response.json({ data: { inventorySetQuantities: payload } });
      }
      return fetch(url, init);
    };
    const results = await clientFor(shop, { fetchImpl }).setAvailable(entriesFor(shop, () => 4), { keySalt: 'v1' });

    expect(results.every((r) => r.status === 'applied')).toBe(true);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
    expect(counters(shop).mutationsApplied).toBe(1);
  });

  it('never hands the access token to its logger, even while retrying', async () => {
    const shop = seedShop(1);
    const lines: string[] = [];
    const record = (obj: Record<string, unknown>, msg?: string) => void lines.push(JSON.stringify({ obj, msg }));
    const logger = { debug: record, info: record, warn: record, error: record };
    running.emulator.failNextRequests(shop.domain, 2, { status: 503 });
    await clientFor(shop, { logger }).setAvailable(entriesFor(shop, () => 1), { keySalt: 'v1' });

    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(shop.token);
  });

  it('handles THROTTLED sent as HTTP 429 and waits the Retry-After seconds (not milliseconds)', async () => {
    const shop = seedShop(1);
    running.emulator.setFaults(shop.domain, { throttleHttpStatus: 429 });
    running.emulator.setBucket(shop.domain, 0); // 10 points short: the emulator says Retry-After: 1
    const started = Date.now();
    const [result] = await clientFor(shop).setAvailable(entriesFor(shop, () => 6), { keySalt: 'v1' });
    const elapsed = Date.now() - started;

    expect(result).toMatchObject({ status: 'applied', quantityAfter: 6 });
    expect(counters(shop).throttled).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
  });

  it('abandons a request that hangs past the per-request timeout and retries it', async () => {
    const shop = seedShop(1);
    running.emulator.setFaults(shop.domain, { timeoutMode: 'hang', timeoutMs: 3000 });
    running.emulator.failNextRequests(shop.domain, 1, { timeout: true });
    const started = Date.now();
    const [result] = await clientFor(shop, { retry: { requestTimeoutMs: 300, baseDelayMs: 10 } }).setAvailable(entriesFor(shop, () => 2), { keySalt: 'v1' });

    expect(result).toMatchObject({ status: 'applied' });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(available(shop, shop.items[0]!, shop.locations[0]!)).toBe(2);
  });

  it('gives up on persistent 5xx with a retryable ShopifyUnavailable after maxAttempts', async () => {
    const shop = seedShop(1);
    running.emulator.setFaults(shop.domain, { errorRate5xx: 1 });
    const err = await rejection(clientFor(shop, { retry: { maxAttempts: 3, baseDelayMs: 5 } }).listLocations());
    expect(err.code).toBe('ISYNC_SHOPIFY_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(counters(shop).calls).toBe(3);
  });

  it('types a refused access token as ShopifyAuth without retrying', async () => {
    const shop = seedShop(1);
    const err = await rejection(clientFor(shop, { accessToken: 'shpat_wrong', tokenSource: 'ACME_SHOPIFY_TOKEN' }).listLocations());
    expect(err.code).toBe('ISYNC_SHOPIFY_AUTH');
    expect(err.retryable).toBe(false);
    // Which shop, and where its token came from: what the operator has to fix.
    expect(err.message).toBe(`Shopify refused the access token of ${shop.domain} (from ACME_SHOPIFY_TOKEN): it is not valid for this shop (HTTP 401)`);
  });

  it('types a GraphQL error other than THROTTLED as ShopifyGraphqlError naming the message', async () => {
    const shop = seedShop(1);
    const err = await rejection(clientFor(shop).request('query { shop { noSuchField } }', {}, { operation: 'probe', estimatedCost: 1 }));
    expect(err.code).toBe('ISYNC_SHOPIFY_GRAPHQL_ERROR');
    expect(err.message).toContain('noSuchField');
  });

  it('types adjust userErrors: stale compare with actual quantities, key reuse with other variables, unknown location', async () => {
    const shop = seedShop(2, 1, 10);
    const client = clientFor(shop);
    const change = { inventoryItemId: shop.items[0]!, locationId: shop.locations[0]!, delta: -2, changeFromQuantity: 10 };

    const applied = await client.adjustAvailable([change], { idempotencyKey: 'order-1-claim', reason: 'correction', referenceDocumentUri: 'inventory-sync://order/1' });
    expect(applied).toEqual([{ inventoryItemId: shop.items[0], locationId: shop.locations[0], status: 'applied', quantityAfter: 8 }]);

    const stale = await rejection(client.adjustAvailable([change], { idempotencyKey: 'order-2-claim' }));
    expect(stale.code).toBe('ISYNC_SHOPIFY_STALE_COMPARE');
    expect(stale.details?.stale).toEqual([{ inventoryItemId: shop.items[0], locationId: shop.locations[0], expected: 10, actual: 8 }]);

    const mismatch = await rejection(client.adjustAvailable([{ ...change, delta: -3 }], { idempotencyKey: 'order-1-claim', reason: 'correction', referenceDocumentUri: 'inventory-sync://order/1' }));
    expect(mismatch.code).toBe('ISYNC_SHOPIFY_IDEMPOTENCY_MISMATCH');

    const badLocation = await rejection(client.adjustAvailable([{ ...change, locationId: 'gid://shopify/Location/987654321', changeFromQuantity: null }], { idempotencyKey: 'order-3-claim' }));
    expect(badLocation.code).toBe('ISYNC_SHOPIFY_USER_ERROR');
    expect(badLocation.details).toMatchObject({ code: 'INVALID_LOCATION', field: ['input', 'changes', '0', 'locationId'] });
    expect(available(shop, shop.items[0]!, shop.locations[0]!)).toBe(8);
  });

  it('keeps budgets per shop: a drained shop does not hold back another', async () => {
    const slow = seedShop(1);
    const fast = seedShop(1);
    running.emulator.setBucket(slow.domain, 0);
    // The slow shop's listing (252 points) must wait ~2.5 s for its bucket once the first answer says it is empty.
    const slowListing = clientFor(slow).listLocations();
    await expect.poll(() => counters(slow).throttled).toBe(1);
    const started = Date.now();
    await clientFor(fast).setAvailable(entriesFor(fast, () => 1), { keySalt: 'v1' });
    expect(Date.now() - started).toBeLessThan(500);
    await slowListing;
  });
});

describe('Shopify client against the emulator: reads', () => {
  it('reads 700 levels over two locations in as few calls as the 1,000-point limit allows', async () => {
    const shop = seedShop(350, 2, 7);
    running.emulator.setQuantities(shop.domain, shop.items[5]!, shop.locations[1]!, { available: 3, committed: 2 });
    const pairs = shop.items.flatMap((inventoryItemId) => shop.locations.map((locationId) => ({ inventoryItemId, locationId })));
    const before = counters(shop).calls;
    const levels = await clientFor(shop).readLevels(pairs);

    expect(counters(shop).calls - before).toBe(3);
    expect(levels.size).toBe(700);
    expect(levels.get(`${shop.items[5]}|${shop.locations[1]}`)).toEqual({ available: 3, committed: 2, on_hand: 5 });
    expect(levels.get(`${shop.items[0]}|${shop.locations[0]}`)).toEqual({ available: 7, committed: 0, on_hand: 7 });
  });

  it('maps SKUs to variants and inventory items exactly, and lists locations', async () => {
    const shop = seedShop(3, 2);
    running.emulator.createProduct(shop.domain, { sku: `${shop.skus[0]}-LONGER` });
    const client = clientFor(shop);
    const variants = await client.listVariantsBySku([shop.skus[0]!, shop.skus[2]!, 'NOPE']);

    expect([...variants.keys()].sort()).toEqual([shop.skus[0], shop.skus[2]].sort());
    expect(variants.get(shop.skus[0]!)?.[0]?.inventoryItemId).toBe(shop.items[0]);
    expect((await client.listLocations()).map((l) => l.id)).toEqual(shop.locations);
  });

  it("finds the location an order's units are committed at through its fulfillment orders", async () => {
    const shop = seedShop(2, 2, 10);
    const variants = await clientFor(shop).listVariantsBySku(shop.skus);
    const order = running.emulator.placeOrder(shop.domain, {
      lines: [{ variantId: variants.get(shop.skus[0]!)![0]!.variantId, quantity: 2 }],
      locationId: shop.locations[1]!,
    });
    const fulfillment = await clientFor(shop).fetchOrderFulfillment(order.id);

    expect(fulfillment?.fulfillmentOrders).toHaveLength(1);
    expect(fulfillment?.fulfillmentOrders[0]).toMatchObject({ locationId: shop.locations[1], lines: [{ sku: shop.skus[0], remainingQuantity: 2, totalQuantity: 2 }] });
    expect(await clientFor(shop).fetchOrderFulfillment('gid://shopify/Order/987654321')).toBeNull();
  });

  it("sizes the fulfillment-order read from the order's line count: what Shopify's cost rule requests is what we reserve, and it is small", async () => {
    const shop = seedShop(3, 2, 10);
    const variants = await clientFor(shop).listVariantsBySku(shop.skus);
    const requestedOf = async (query: string, id: string) => {
      const res = await fetch(`${running.url}/admin/api/${DEFAULT_API_VERSION}/graphql.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-access-token': shop.token },
        body: JSON.stringify({ query, variables: { id } }),
      });
      return ((await res.json()) as { extensions: { cost: { requestedQueryCost: number } } }).extensions.cost.requestedQueryCost;
    };
    for (const n of [1, 3]) {
      const order = running.emulator.placeOrder(shop.domain, {
        lines: shop.skus.slice(0, n).map((sku) => ({ variantId: variants.get(sku)![0]!.variantId, quantity: 1 })),
        locationId: shop.locations[1]!,
      });
      const page = orderFulfillmentPage(n);
      expect(page).toEqual({ fos: n, lines: n });
      expect(await requestedOf(orderFulfillmentQuery(page.fos, page.lines), order.id)).toBe(orderFulfillmentCost(page.fos, page.lines));
      const before = counters(shop).requestedCost;
      const read = await clientFor(shop).fetchOrderFulfillment(order.id, { lineCount: n });
      expect(read?.fulfillmentOrders.flatMap((fo) => fo.lines.map((l) => l.sku)).sort()).toEqual(shop.skus.slice(0, n).sort());
      expect(counters(shop).requestedCost - before).toBe(orderFulfillmentCost(n, n));
    }
    expect(orderFulfillmentCost(1, 1)).toBe(11);
    expect(await requestedOf(ORDER_FULFILLMENT, 'gid://shopify/Order/1')).toBe(928);
    // A large order stays under the 1,000-point cap of one query and pages on.
    const big = orderFulfillmentPage(250);
    expect(orderFulfillmentCost(big.fos, big.lines)).toBeLessThanOrEqual(1000);
  });

  it('learns whether the shop has one active location from Shopify (one probe of 4 points, cached until forgotten)', async () => {
    const shop = seedShop(1, 1);
    const client = clientFor(shop);
    expect(await Promise.all([client.singleActiveLocation(), client.singleActiveLocation()])).toEqual([shop.locations[0], shop.locations[0]]);
    expect(counters(shop).rootFields.locations).toBe(1);
    expect(counters(shop).requestedCost).toBe(ACTIVE_LOCATIONS_PROBE_COST);
    expect(ACTIVE_LOCATIONS_PROBE_COST).toBe(4);
    running.emulator.createLocation(shop.domain, { name: 'Second' });
    expect(await client.singleActiveLocation()).toBe(shop.locations[0]);
    client.forgetLocations();
    expect(await client.singleActiveLocation()).toBeNull();
    const expired = clientFor(shop, { locationsTtlMs: 0 });
    running.emulator.createLocation(shop.domain, { name: 'Inactive', isActive: false });
    expect(await expired.singleActiveLocation()).toBeNull();
    expect(counters(shop).rootFields.locations).toBe(3);
  });

  it('runs a bulk query and yields its JSONL rows', async () => {
    const shop = seedShop(5, 1, 4);
    const rows = [];
    const query = '{ inventoryItems { edges { node { id sku inventoryLevels { edges { node { id quantities(names: ["available"]) { name quantity } } } } } } } }';
    for await (const row of clientFor(shop).runBulkQuery(query, { pollIntervalMs: 20 })) rows.push(row);

    expect(rows.filter((r) => typeof r.sku === 'string').map((r) => r.id).sort()).toEqual([...shop.items].sort());
    expect(rows.filter((r) => r.__parentId !== undefined)).toHaveLength(5);
  });

  it('a bulk start whose answer was lost joins the export it started instead of starting a second one', async () => {
    const shop = seedShop(3, 1, 2);
    const query = '{ inventoryItems { edges { node { id sku } } } }';
    running.emulator.failNextRequests(shop.domain, 1, { afterApply: true, field: 'bulkOperationRunQuery' });
    const rows = [];
    for await (const row of clientFor(shop).runBulkQuery(query, { pollIntervalMs: 20 })) rows.push(row);

    expect(rows.map((r) => r.id).sort()).toEqual([...shop.items].sort());
    expect(counters(shop).errors5xx).toBe(1);
    expect(counters(shop).bulkOperations).toBe(1);
  });
});

describe('Shopify client against the emulator: waiting for what Shopify asks', () => {
  it("after THROTTLED waits until the bucket holds the answer's requestedQueryCost, not its own low estimate", async () => {
    const shop = seedShop(1);
    const faults: { kind: string; delayMs: number; requestedCost?: unknown }[] = [];
    const client = clientFor(shop, { onFault: (f) => faults.push(f) });
    running.emulator.setBucket(shop.domain, 0);
    // 100 items a page: Shopify asks for about 102 points; we claim it costs 1.
    const { data } = await client.request<{ inventoryItems: { nodes: unknown[] } }>('{ inventoryItems(first: 100) { nodes { id } } }', {}, { operation: 'test', estimatedCost: 1 });

    expect(data.inventoryItems.nodes).toHaveLength(1);
    expect(counters(shop).throttled).toBe(1);
    expect(faults).toHaveLength(1);
    const requested = faults[0]!.requestedCost as number;
    expect(requested).toBeGreaterThan(50);
    // Standard plan: 100 points/s restored, so about `requested` * 10 ms.
    expect(faults[0]!.delayMs).toBeGreaterThanOrEqual(requested * 10 - 50);
  });

  it('an aborted signal ends a Retry-After wait at once with its reason, and nothing more is sent', async () => {
    const shop = seedShop(1);
    running.emulator.failNextRequests(shop.domain, 1, { throttle: true, retryAfterSeconds: 60 });
    const controller = new AbortController();
    const client = clientFor(shop, { onFault: () => controller.abort(new Error('attempt abandoned')) });
    const callsBefore = counters(shop).calls;
    await expect(
      client.setAvailable([{ inventoryItemId: shop.items[0]!, locationId: shop.locations[0]!, quantity: 5, changeFromQuantity: 0 }], { signal: controller.signal }),
    ).rejects.toThrow('attempt abandoned');
    expect(counters(shop).calls).toBe(callsBefore + 1);
    expect(available(shop, shop.items[0]!, shop.locations[0]!)).toBe(0);
  });

  it('a fence that drops an entry before the send writes the rest under a new key and reports the drop', async () => {
    const shop = seedShop(2);
    const entries = entriesFor(shop, () => 7);
    const dropped = `${shop.items[1]}|${shop.locations[0]}`;
    const results = await clientFor(shop).setAvailable(entries, { fence: async (sending) => new Map(sending.some((e) => `${e.inventoryItemId}|${e.locationId}` === dropped) ? [[dropped, 'version 9 is newer']] : []) });

    expect(results.map((r) => r.status)).toEqual(['applied', 'dropped']);
    expect(available(shop, shop.items[0]!, shop.locations[0]!)).toBe(7);
    expect(available(shop, shop.items[1]!, shop.locations[0]!)).toBe(0);
    expect(counters(shop).mutationsApplied).toBe(1);
  });
});

