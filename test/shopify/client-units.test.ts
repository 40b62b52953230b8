import { describe, expect, it } from 'vitest';
import { InMemoryBudgetStore, ShopBudget, deriveIdempotencyKey, parseRetryAfter, rewriteOrigin } from '../../src/shopify/client/index.js';
import { entryIndexOf } from '../../src/shopify/client/user-errors.js';

const entry = (qty: number, from: number | null) => ({ inventoryItemId: 'gid://shopify/InventoryItem/1', locationId: 'gid://shopify/Location/1', quantity: qty, changeFromQuantity: from });

describe('idempotency key derivation', () => {
  const base = { shopDomain: 'a.myshopify.com', mutation: 'inventorySetQuantities', content: { quantities: [entry(5, 3)] }, salt: 'v7' };

  it('gives the same key for the same request, so a retry after a lost response replays', () => {
    expect(deriveIdempotencyKey(base)).toBe(deriveIdempotencyKey({ ...base, content: { quantities: [entry(5, 3)] } }));
  });

  it('gives a new key when changeFromQuantity, the salt or the shop changes', () => {
    const key = deriveIdempotencyKey(base);
    expect(deriveIdempotencyKey({ ...base, content: { quantities: [entry(5, 4)] } })).not.toBe(key);
    expect(deriveIdempotencyKey({ ...base, salt: 'v8' })).not.toBe(key);
    expect(deriveIdempotencyKey({ ...base, shopDomain: 'b.myshopify.com' })).not.toBe(key);
  });

  it('is shaped like a UUID', () => {
    expect(deriveIdempotencyKey(base)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('Retry-After and base URL', () => {
  it('reads Retry-After as seconds, not milliseconds', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('moves the package URL onto SHOPIFY_API_BASE_URL, keeping the path', () => {
    expect(rewriteOrigin('https://a.myshopify.com/admin/api/2026-10/graphql.json', 'http://127.0.0.1:4000')).toBe(
      'http://127.0.0.1:4000/admin/api/2026-10/graphql.json',
    );
    expect(rewriteOrigin('https://a.myshopify.com/admin/api/2026-10/graphql.json', undefined)).toBe('https://a.myshopify.com/admin/api/2026-10/graphql.json');
  });
});

describe('userError field paths', () => {
  it('finds the entry index in a field path', () => {
    expect(entryIndexOf({ code: 'X', message: '', field: ['input', 'quantities', '3', 'quantity'] })).toBe(3);
    expect(entryIndexOf({ code: 'X', message: '', field: ['input', 'name'] })).toBeUndefined();
  });
});

describe('shop budget', () => {
  it('waits until the refilled bucket, net of in-flight reservations, holds the cost', async () => {
    let now = 0;
    const store = new InMemoryBudgetStore({ maxInFlight: 10 });
    const budget = new ShopBudget('shop', store, () => now);
    const probe = await budget.acquire(10); // the probe goes without a model
    await budget.settle(probe, { maximumAvailable: 2000, currentlyAvailable: 15, restoreRate: 100 });
    expect((await store.tryReserve('shop', 10, now)).granted).toBe(true);
    // 5 left after reserving 10 of 15: the next 10 points need 50 ms of refill.
    expect(await store.tryReserve('shop', 10, now)).toEqual({ granted: false, waitMs: 50 });
    now = 50;
    expect((await store.tryReserve('shop', 10, now)).granted).toBe(true);
  });

  it('keeps shops apart', async () => {
    const store = new InMemoryBudgetStore();
    const r = await store.tryReserve('a', 10, 0);
    await store.settle('a', r.granted ? r.token : '', { maximumAvailable: 2000, currentlyAvailable: 0, restoreRate: 100 }, 0);
    expect((await store.tryReserve('a', 10, 0)).granted).toBe(false);
    expect((await store.tryReserve('b', 10, 0)).granted).toBe(true);
  });

  it('lets only one probe out before the first throttleStatus is known', async () => {
    const store = new InMemoryBudgetStore();
    expect((await store.tryReserve('s', 10, 0)).granted).toBe(true);
    expect((await store.tryReserve('s', 10, 0)).granted).toBe(false);
  });
});
