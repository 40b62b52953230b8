export { createShopifyClient, type ShopifyClient, type ShopifyClientOptions } from './shopify-client.js';
export { ShopBudget, InMemoryBudgetStore, sharedShopBudget, projectAvailable, type BudgetStore, type BucketModel } from './budget.js';
export { deriveIdempotencyKey } from './idempotency.js';
export { DEFAULT_API_VERSION, rewriteOrigin, parseRetryAfter } from './admin-client.js';
export { DEFAULT_RETRY_POLICY } from './retry.js';
export { MAX_ENTRIES_PER_CALL, type SetAvailableResult, type AdjustAvailableResult } from './inventory.js';
export * from './types.js';
export { RedisBudgetStore, type RedisBudgetStoreOptions } from './redis-budget-store.js';
