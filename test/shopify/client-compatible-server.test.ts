import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetAvailableEntry } from '../../src/shopify/client/index.js';
import { DEFAULT_API_VERSION } from '../../src/shopify/client/admin-client.js';
import { ACTIVE_LOCATIONS_PROBE_COST } from '../../src/shopify/client/documents.js';
import { levelKey } from '../../src/shopify/client/types.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { clientFixture, rejection, type Shop } from './client-fixture.js';

// Shopify's semantics where another Shopify-compatible server answers in shapes our emulator never produces by
// itself: the emulator's one-shot `reply` fault (set through its control API) sends them, the rest is real.

let running: RunningEmulator;
beforeAll(async () => {
  running = await startEmulator({ logger: false, bulkDelayMs: 10 });
});
afterAll(() => running.close());

const { seedShop, clientFor } = clientFixture(() => running, 'C');

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${running.url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The shop's next `count` GraphQL requests get exactly this answer, through the control API; nothing runs. */
async function replyNext(shop: Shop, reply: { status: number; body: unknown }, count = 1): Promise<void> {
  const res = await control('POST', `/shops/${shop.domain}/faults/fail-next`, { count, reply });
  expect(res.status).toBe(200);
}

const counters = (shop: Shop) => running.emulator.counters(shop.domain);
const available = (shop: Shop, item: string, location: string) => running.emulator.getLevel(shop.domain, item, location).available;


/** Records the idempotency key of every mutation the client sends. */
function keyRecorder() {
  const keys: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const body = JSON.parse(String(init?.body ?? '{}')) as { variables?: { idempotencyKey?: string } };
    if (body.variables?.idempotencyKey !== undefined) keys.push(body.variables.idempotencyKey);
    return fetch(input, init);
  };
  return { keys, fetchImpl };
}

const staleUserError = (list: 'quantities' | 'changes', index: number) => ({
  code: 'COMPARE_QUANTITY_STALE',
  field: ['input', list, String(index), 'compareQuantity'],
  message: 'The compareQuantity value does not match persisted value',
});

const INTERNAL_ERROR = {
  status: 200,
  body: { errors: [{ message: 'Internal error. Looks like something went wrong on our end.', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-1' } }] },
};

describe('Shopify client against a Shopify-compatible server: stale compares under either code', () => {
  it('a set answered COMPARE_QUANTITY_STALE for one entry reports it stale with the quantity read now, and writes the rest under a new key', async () => {
    const shop = seedShop(2, 1, 10);
    const loc = shop.locations[0]!;
    // The client sends entries sorted by level key: the userError names the first of them.
    const [believedSeven, upToDate] = [...shop.items].sort((a, b) => (levelKey(a, loc) < levelKey(b, loc) ? -1 : 1));
    const entries: SetAvailableEntry[] = [
      { inventoryItemId: upToDate!, locationId: loc, quantity: 5, changeFromQuantity: 10 },
      { inventoryItemId: believedSeven!, locationId: loc, quantity: 4, changeFromQuantity: 7 },
    ];
    await replyNext(shop, { status: 200, body: { data: { inventorySetQuantities: { inventoryAdjustmentGroup: null, userErrors: [staleUserError('quantities', 0)] } } } });
    const { keys, fetchImpl } = keyRecorder();
    const results = await clientFor(shop, { fetchImpl }).setAvailable(entries, { keySalt: 'compat-stale' });

    expect(results).toEqual([
      { inventoryItemId: upToDate, locationId: loc, status: 'applied', quantityAfter: 5 },
      { inventoryItemId: believedSeven, locationId: loc, status: 'stale', actual: 10, committed: 0 },
    ]);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
    expect(counters(shop).mutationsApplied).toBe(1);
    expect(available(shop, upToDate!, loc)).toBe(5);
    expect(available(shop, believedSeven!, loc)).toBe(10);
  });

  it('an adjust answered COMPARE_QUANTITY_STALE throws ShopifyStaleCompare carrying the quantity read now', async () => {
    const shop = seedShop(1, 1, 8);
    const change = { inventoryItemId: shop.items[0]!, locationId: shop.locations[0]!, delta: -2, changeFromQuantity: 10 };
    await replyNext(shop, { status: 200, body: { data: { inventoryAdjustQuantities: { inventoryAdjustmentGroup: null, userErrors: [staleUserError('changes', 0)] } } } });
    const err = await rejection(clientFor(shop).adjustAvailable([change], { idempotencyKey: 'order-7-claim' }));

    expect(err.code).toBe('ISYNC_SHOPIFY_STALE_COMPARE');
    expect(err.details?.stale).toEqual([{ inventoryItemId: shop.items[0], locationId: shop.locations[0], expected: 10, actual: 8 }]);
    expect(counters(shop).mutationsApplied).toBe(0);
  });
});

describe('Shopify client against a Shopify-compatible server: transient and odd error shapes', () => {
  it('retries a top-level INTERNAL_SERVER_ERROR (HTTP 200) with the same idempotency key, and the write applies once', async () => {
    const shop = seedShop(2, 1, 3);
    await replyNext(shop, INTERNAL_ERROR);
    const { keys, fetchImpl } = keyRecorder();
    const entries = shop.items.map((inventoryItemId) => ({ inventoryItemId, locationId: shop.locations[0]!, quantity: 9, changeFromQuantity: 3 }));
    const results = await clientFor(shop, { fetchImpl }).setAvailable(entries, { keySalt: 'compat-ise' });

    expect(results.map((r) => r.status)).toEqual(['applied', 'applied']);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    const c = counters(shop);
    expect(c.calls).toBe(2);
    expect(c.mutationsAppliedByKey).toEqual({ [keys[0]!]: 1 });
    for (const item of shop.items) expect(available(shop, item, shop.locations[0]!)).toBe(9);
  });

  it('gives up on INTERNAL_SERVER_ERROR after maxAttempts with a retryable ShopifyUnavailable; other top-level codes stay fatal at once', async () => {
    const shop = seedShop(1);
    const client = clientFor(shop, { retry: { maxAttempts: 3, baseDelayMs: 5 } });
    await replyNext(shop, INTERNAL_ERROR, 3);
    const unavailable = await rejection(client.listLocations());
    expect(unavailable.code).toBe('ISYNC_SHOPIFY_UNAVAILABLE');
    expect(unavailable.retryable).toBe(true);
    expect(unavailable.message).toContain('INTERNAL_SERVER_ERROR');
    expect(counters(shop).calls).toBe(3);

    await replyNext(shop, { status: 200, body: { errors: [{ message: 'Field is not defined', extensions: { code: 'undefinedField' } }] } });
    const fatal = await rejection(client.listLocations());
    expect(fatal.code).toBe('ISYNC_SHOPIFY_GRAPHQL_ERROR');
    expect(fatal.retryable).toBe(false);
    expect(counters(shop).calls).toBe(4);
  });

  it('turns `errors` sent as a string or an object into our typed errors (never a TypeError), and retries one that came with a 5xx', async () => {
    const shop = seedShop(1);
    const client = clientFor(shop);
    const probe = () => client.request('query { shop { name } }', {}, { operation: 'probe', estimatedCost: 1 });

    await replyNext(shop, { status: 200, body: { errors: 'Internal error' } });
    const asString = await rejection(probe());
    expect(asString.code).toBe('ISYNC_SHOPIFY_GRAPHQL_ERROR');
    expect(asString.message).toContain('Internal error');

    await replyNext(shop, { status: 200, body: { errors: { query: 'Required parameter missing or invalid' } } });
    const asObject = await rejection(probe());
    expect(asObject.code).toBe('ISYNC_SHOPIFY_GRAPHQL_ERROR');
    expect(asObject.message).toContain('query: Required parameter missing or invalid');

    await replyNext(shop, { status: 200, body: { errors: [null, 'plain text', { message: 'odd', extensions: { code: 42 } }] } });
    expect((await rejection(probe())).code).toBe('ISYNC_SHOPIFY_GRAPHQL_ERROR');

    await replyNext(shop, { status: 500, body: { errors: 'Internal error' } });
    const [written] = await client.setAvailable([{ inventoryItemId: shop.items[0]!, locationId: shop.locations[0]!, quantity: 2, changeFromQuantity: 0 }], { keySalt: 'compat-500' });
    expect(written).toMatchObject({ status: 'applied', quantityAfter: 2 });
    expect(available(shop, shop.items[0]!, shop.locations[0]!)).toBe(2);
  });

  it('a listing page that says hasNextPage but gives no endCursor (the schema allows null) is refused, not read again for ever', async () => {
    const shop = seedShop(1, 1, 1);
    const page = { data: { locations: { nodes: [{ id: 'gid://shopify/Location/1', name: 'A', isActive: true }], pageInfo: { hasNextPage: true, endCursor: null } } } };
    await replyNext(shop, { status: 200, body: page }, 3);
    const err = await rejection(clientFor(shop).listLocations());
    expect(err.code).toBe('ISYNC_SHOPIFY_UNAVAILABLE');
    expect(err.message).toBe('Shopify call listLocations answered hasNextPage without an endCursor; the listing cannot go on');
  });

  it('the control API refuses a reply fault without a body, naming the field', async () => {
    const shop = seedShop(0);
    const res = await control('POST', `/shops/${shop.domain}/faults/fail-next`, { count: 1, reply: { status: 200 } });
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain('reply.body');
  });
});

describe('Shopify client against a Shopify-compatible server: cost figures it cannot trust', () => {
  it('a throttleStatus without restoreRate (or with a non-number) is not adopted: the next call goes out at once and the budget stays finite', async () => {
    const shop = seedShop(1);
    const client = clientFor(shop);
    const shopName = { data: { shop: { name: 'compat' } } };
    await replyNext(shop, { status: 200, body: { ...shopName, extensions: { cost: { requestedQueryCost: 1, actualQueryCost: 1, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1999 } } } } });
    await replyNext(shop, { status: 200, body: { ...shopName, extensions: { cost: { requestedQueryCost: 'one', actualQueryCost: 1, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1999, restoreRate: '100' } } } } });
    // Bounded: before the fix the third call's acquire() waited on a NaN projection for ever.
    const bounded = { operation: 'probe', estimatedCost: 1, signal: AbortSignal.timeout(5_000) };
    const started = Date.now();
    for (let i = 0; i < 3; i += 1) {
      const { data } = await client.request<{ shop: { name: string } }>('query { shop { name } }', {}, bounded);
      expect(typeof data.shop.name).toBe('string');
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(counters(shop).calls).toBe(3);

    const model = await client.budget.model();
    expect(model).toMatchObject({ maximumAvailable: 2000, restoreRate: 100 });
    for (const n of [model!.maximumAvailable, model!.currentlyAvailable, model!.restoreRate]) expect(Number.isFinite(n)).toBe(true);
  });
});

describe('Shopify client against a Shopify-compatible server: fulfillment-service locations', () => {
  it('the single-location probe counts a fulfillment-service (legacy) location: one store plus one such location is two', async () => {
    const shop = seedShop(1, 1);
    const created = await control('POST', `/shops/${shop.domain}/locations`, { name: '3PL', fulfillmentService: true });
    expect(created.status).toBe(201);
    const raw = await fetch(`${running.url}/admin/api/${DEFAULT_API_VERSION}/graphql.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': shop.token },
      body: JSON.stringify({ query: '{ plain: locations(first: 5) { nodes { id } } all: locations(first: 5, includeLegacy: true) { nodes { id isFulfillmentService } } }' }),
    });
    const listed = ((await raw.json()) as { data: { plain: { nodes: { id: string }[] }; all: { nodes: { id: string; isFulfillmentService: boolean }[] } } }).data;
    // As Shopify does: without includeLegacy the fulfillment-service location is left out.
    expect(listed.plain.nodes.map((n) => n.id)).toEqual(shop.locations);
    expect(listed.all.nodes).toEqual([
      { id: shop.locations[0], isFulfillmentService: false },
      { id: created.body.id, isFulfillmentService: true },
    ]);

    const client = clientFor(shop);
    const requestedBefore = counters(shop).requestedCost;
    expect(await client.singleActiveLocation()).toBeNull();
    expect(counters(shop).requestedCost - requestedBefore).toBe(ACTIVE_LOCATIONS_PROBE_COST);
    expect((await client.listLocations()).map((l) => l.id)).toEqual([shop.locations[0], created.body.id]);
  });
});

describe('Shopify client against a Shopify-compatible server: failures that must not loop', () => {
  it('a bulk export that ends FAILED with ACCESS_DENIED is a non-retryable ShopifyAuth, without another poll or start', async () => {
    const shop = seedShop(1);
    const query = '{ inventoryItems { edges { node { id sku } } } }';
    const id = 'gid://shopify/BulkOperation/4242';
    await replyNext(shop, { status: 200, body: { data: { currentBulkOperation: { id, status: 'RUNNING', query, createdAt: new Date().toISOString() } } } });
    await replyNext(shop, { status: 200, body: { data: { bulkOperation: { id, status: 'FAILED', errorCode: 'ACCESS_DENIED', objectCount: '0', url: null, partialDataUrl: null } } } });
    const err = await rejection(clientFor(shop).runBulkExport(query, { pollIntervalMs: 10 }));

    expect(err.code).toBe('ISYNC_SHOPIFY_AUTH');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('ACCESS_DENIED');
    expect(counters(shop).calls).toBe(2);
    expect(counters(shop).bulkOperations).toBe(0);
  });

  it('a level read answered MAX_COST_EXCEEDED is read again as two halves and returns every level', async () => {
    const shop = seedShop(4, 2, 6);
    const pairs = shop.items.flatMap((inventoryItemId) => shop.locations.map((locationId) => ({ inventoryItemId, locationId })));
    await replyNext(shop, {
      status: 200,
      body: {
        errors: [{ message: 'Query cost is 1200, which exceeds the single query max cost limit (1000).', extensions: { code: 'MAX_COST_EXCEEDED', cost: 1200, maxCost: 1000 } }],
      },
    });
    const levels = await clientFor(shop).readLevels(pairs);

    expect(levels.size).toBe(8);
    for (const p of pairs) expect(levels.get(levelKey(p.inventoryItemId, p.locationId))).toEqual({ available: 6, committed: 0, on_hand: 6 });
    expect(counters(shop).calls).toBe(3);
  });
});
