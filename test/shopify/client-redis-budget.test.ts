import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RedisBudgetStore, ShopBudget } from '../../src/shopify/client/index.js';

const redisUrl = inject('redisUrl') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(redisUrl);
afterAll(() => redis.quit());

describe('Redis budget store (several processes of one shop)', () => {
  const shopKey = `client-test-${process.pid}-${Date.now()}`;
  const prefix = 'test:shopify:budget:';

  it('makes a second process wait for points the first one reserved, and frees them on settle', async () => {
    const processA = new RedisBudgetStore(redis, { keyPrefix: prefix });
    const processB = new RedisBudgetStore(redis, { keyPrefix: prefix });
    const probe = await processA.tryReserve(shopKey, 10);
    expect(probe.granted).toBe(true);
    // Shopify says 25 points are left and they refill slowly.
    await processA.settle(shopKey, probe.granted ? probe.token : '', { maximumAvailable: 2000, currentlyAvailable: 25, restoreRate: 1 });

    const first = await processA.tryReserve(shopKey, 20);
    expect(first.granted).toBe(true);
    const second = await processB.tryReserve(shopKey, 20);
    expect(second.granted).toBe(false);

    await processA.settle(shopKey, first.granted ? first.token : '', undefined);
    expect((await processB.tryReserve(shopKey, 20)).granted).toBe(true);
    expect((await processB.peek(shopKey))?.currentlyAvailable).toBe(25);
  });

  it('paces a ShopBudget the same way as the in-memory store', async () => {
    const budget = new ShopBudget(`${shopKey}-b`, new RedisBudgetStore(redis, { keyPrefix: prefix }));
    const token = await budget.acquire(10);
    await budget.settle(token, { maximumAvailable: 2000, currentlyAvailable: 0, restoreRate: 100 });
    const started = Date.now();
    await budget.acquire(10); // 10 points at 100/s
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });
  it('an older response settling after a newer one never raises the bucket (two processes, answers out of order)', async () => {
    const key = `${shopKey}-order`;
    const processA = new RedisBudgetStore(redis, { keyPrefix: prefix });
    const processB = new RedisBudgetStore(redis, { keyPrefix: prefix });
    const probe = await processA.tryReserve(key, 10);
    await processA.settle(key, probe.granted ? probe.token : '', { maximumAvailable: 2000, currentlyAvailable: 100, restoreRate: 1 });
    const a = await processA.tryReserve(key, 30);
    const b = await processB.tryReserve(key, 30);
    expect(a.granted && b.granted).toBe(true);
    // Shopify handled A, then B: A's answer says 70 left, B's (which includes A's cost) 40. B's answer arrives first.
    await processB.settle(key, b.granted ? b.token : '', { maximumAvailable: 2000, currentlyAvailable: 40, restoreRate: 1 });
    await processA.settle(key, a.granted ? a.token : '', { maximumAvailable: 2000, currentlyAvailable: 70, restoreRate: 1 });
    const cur = (await processA.peek(key))?.currentlyAvailable ?? NaN;
    // 40 plus at most the refill of the few milliseconds between the two settles (1 point/s), never 70.
    expect(cur).toBeGreaterThanOrEqual(40);
    expect(cur).toBeLessThan(41);
    // In order, a lower report is taken as it is.
    const c = await processA.tryReserve(key, 10);
    await processA.settle(key, c.granted ? c.token : '', { maximumAvailable: 2000, currentlyAvailable: 30, restoreRate: 1 });
    expect((await processA.peek(key))?.currentlyAvailable).toBe(30);
  });
});
