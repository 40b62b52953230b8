/**
 * The Shopify calls the baseline designs make, through the real @shopify/admin-api-client: plain
 * `inventorySetQuantities` with no compare (`changeFromQuantity: null`) and `inventoryAdjustQuantities`, each with a
 * fresh idempotency key (Shopify requires one; the designs have no notion of a stable key). THROTTLED answers are
 * retried after a second, as a naive integration does. Bench-only: never used by src/.
 */
import { randomUUID } from 'node:crypto';
import { createAdminApiClient } from '@shopify/admin-api-client';
import { ADJUST_QUANTITIES, SET_QUANTITIES } from '../../src/shopify/client/documents.js';

export type Level = { inventoryItemId: string; locationId: string };

export type NaiveShopify = {
  setAvailable(entries: (Level & { quantity: number })[]): Promise<void>;
  adjustAvailable(changes: (Level & { delta: number })[]): Promise<void>;
  /** Mutation calls sent (a retried THROTTLED call counts once: it ran once). */
  readonly writes: number;
  readonly throttled: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function naiveShopify(emulatorUrl: string, domain: string, accessToken: string): NaiveShopify {
  const client = createAdminApiClient({
    storeDomain: domain,
    apiVersion: '2026-10',
    accessToken,
    logger: () => undefined,
    customFetchApi: (url: string, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('X-Shopify-Shop-Domain', domain);
      return fetch(url.replace(/^https:\/\/[^/]+/, emulatorUrl), { ...init, headers });
    },
  });
  let writes = 0;
  let throttled = 0;
  const call = async (query: string, variables: Record<string, unknown>, field: string) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const res = await client.request(query, { variables });
      const errors = res.errors?.graphQLErrors ?? [];
      if (errors.some((e) => (e.extensions as { code?: string } | undefined)?.code === 'THROTTLED') || res.errors?.networkStatusCode === 429) {
        throttled++;
        await sleep(1000);
        continue;
      }
      if (res.errors) throw new Error(`${field}: ${res.errors.message ?? JSON.stringify(res.errors)}`);
      writes++;
      const payload = (res.data as Record<string, { userErrors: { code: string; message: string }[] }>)[field]!;
      if (payload.userErrors.length > 0) throw new Error(`${field}: ${payload.userErrors.map((u) => `${u.code} ${u.message}`).join('; ')}`);
      return;
    }
    throw new Error(`${field}: still THROTTLED after 20 attempts`);
  };
  return {
    get writes() {
      return writes;
    },
    get throttled() {
      return throttled;
    },
    async setAvailable(entries) {
      for (let i = 0; i < entries.length; i += 250) {
        const quantities = entries.slice(i, i + 250).map((e) => ({ inventoryItemId: e.inventoryItemId, locationId: e.locationId, quantity: e.quantity, changeFromQuantity: null }));
        await call(SET_QUANTITIES, { input: { name: 'available', reason: 'correction', quantities }, idempotencyKey: randomUUID() }, 'inventorySetQuantities');
      }
    },
    async adjustAvailable(changes) {
      const list = changes.map((c) => ({ inventoryItemId: c.inventoryItemId, locationId: c.locationId, delta: c.delta, changeFromQuantity: null }));
      await call(ADJUST_QUANTITIES, { input: { name: 'available', reason: 'correction', changes: list }, idempotencyKey: randomUUID() }, 'inventoryAdjustQuantities');
    },
  };
}
