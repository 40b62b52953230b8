import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../src/shopify/emulator/index.js';
import { SET_MUTATION, SHOP_A, SHOP_B, TOKEN_A, TOKEN_B, client, control, gql, receiver, seed, setVars, start, type Seeded } from './helpers.js';

let run: RunningEmulator;
let s: Seeded;

beforeEach(async () => {
  run ??= await start();
  run.emulator.reset();
  s = seed(run, 3);
});
afterAll(async () => run?.close());

const LOC_Q = `{ locations(first: 5) { nodes { name } } }`;

describe('HTTP surface and shops', () => {
  it('401 without or with a wrong token, Shopify-style body; 404 for an unknown version', async () => {
    const none = await gql(run.url, LOC_Q, {}, { token: null });
    expect(none.status).toBe(401);
    expect(none.body.errors).toMatch(/^\[API\] Invalid API key or access token/);
    expect((await gql(run.url, LOC_Q, {}, { token: 'nope' })).status).toBe(401);
    expect((await gql(run.url, LOC_Q, {}, { version: '2019-01' })).status).toBe(404);
  });

  it('names the shop by X-Shopify-Shop-Domain, or by the token alone; two shops stay isolated', async () => {
    seed(run, 1, { shop: SHOP_B, token: TOKEN_B });
    const byToken = await gql(run.url, `{ shop { myshopifyDomain } }`, {}, { shop: null, token: TOKEN_B });
    expect(byToken.body.data.shop.myshopifyDomain).toBe(SHOP_B);
    // A shop's header with another shop's token is refused.
    expect((await gql(run.url, LOC_Q, {}, { shop: SHOP_B, token: TOKEN_A })).status).toBe(401);
    const a = await client(run.url, SHOP_A, TOKEN_A).request(`{ inventoryItems(first: 10) { nodes { sku } } }`);
    const b = await client(run.url, SHOP_B, TOKEN_B).request(`{ inventoryItems(first: 10) { nodes { sku } } }`);
    expect(a.data.inventoryItems.nodes).toHaveLength(3);
    expect(b.data.inventoryItems.nodes).toEqual([{ sku: 'SKU-1' }]);
    // A write to A touches neither B's quantities nor B's bucket.
    const vars = setVars([{ inventoryItemId: s.items[0]!.inventoryItemId, locationId: s.locA, quantity: 1, changeFromQuantity: 10 }], 'same-key');
    await gql(run.url, SET_MUTATION, vars);
    const bItem = run.emulator.shop(SHOP_B).items.values().next().value!;
    expect(run.emulator.counters(SHOP_B).mutationsApplied).toBe(0);
    expect(run.emulator.counters(SHOP_B).costSpent).toBe(1 + 2 + 1);
    expect([...run.emulator.shop(SHOP_B).levels.values()].find((l) => l.itemId === bItem.id)!.quantities.available).toBe(10);
  });

  it('control API validates with zod and names the field', async () => {
    const r = await control(run.url, 'POST', '/shops', { domain: 'x.myshopify.com' });
    expect(r.status).toBe(400);
    expect(r.body.error).toContain('accessToken');
    const st = await control(run.url, 'GET', `/shops/${SHOP_A}/state`);
    expect(st.body.items).toHaveLength(3);
    expect(st.body.items[0].levels[0]).toMatchObject({ locationId: s.locA, available: 10, on_hand: 10 });
    expect((await control(run.url, 'GET', `/shops/nope.myshopify.com/counters`)).status).toBe(404);
  });
});

describe('bulk operations', () => {
  it('runs a query over all pages and serves JSONL with __parentId on child rows; fires bulk_operations/finish', async () => {
    const hooks = await receiver();
    run.emulator.updateShop(SHOP_A, { webhookUrl: hooks.url });
    const c = client(run.url);
    const inner = `{ inventoryItems { edges { node { id sku inventoryLevels { edges { node { location { id } quantities(names: ["available"]) { name quantity } } } } } } } }`;
    const started = await c.request(
      `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: false) { bulkOperation { id status } userErrors { code field message } } }`,
      { variables: { q: inner } },
    );
    expect(started.data.bulkOperationRunQuery.userErrors).toEqual([]);
    const id = started.data.bulkOperationRunQuery.bulkOperation.id;
    expect(started.data.bulkOperationRunQuery.bulkOperation.status).toBe('CREATED');
    let op: any;
    for (let i = 0; i < 50; i++) {
      op = (await c.request(`query($id: ID!) { bulkOperation(id: $id) { id status url objectCount errorCode } }`, { variables: { id } })).data.bulkOperation;
      if (op.status === 'COMPLETED') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(op).toMatchObject({ status: 'COMPLETED', objectCount: '9', errorCode: null });
    const current = await c.request(`{ currentBulkOperation { id status } }`);
    expect(current.data.currentBulkOperation).toEqual({ id, status: 'COMPLETED' });
    const rows = (await (await fetch(op.url)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(9);
    expect(rows[0]).toEqual({ id: s.items[0]!.inventoryItemId, sku: 'SKU-1' });
    expect(rows[1]).toEqual({ location: { id: s.locA }, quantities: [{ name: 'available', quantity: 10 }], __parentId: s.items[0]!.inventoryItemId });
    expect(rows.filter((r) => r.__parentId).length).toBe(6);
    await run.emulator.drainWebhooks();
    const fin = hooks.received.find((r) => r.headers['x-shopify-topic'] === 'bulk_operations/finish')!;
    expect(fin.body).toMatchObject({ admin_graphql_api_id: id, status: 'completed', error_code: null, type: 'query' });
    await hooks.close();
  });

  it('allows at most 5 running bulk queries per shop', async () => {
    const m = `mutation { bulkOperationRunQuery(query: "{ locations { nodes { id } } }") { bulkOperation { id } userErrors { code message } } }`;
    run.emulator.bulkDelayMs = 5_000; // keep them running
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await gql(run.url, m)).body.data.bulkOperationRunQuery.userErrors[0]?.code ?? 'OK');
    run.emulator.bulkDelayMs = 10;
    expect(codes).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'LIMIT_REACHED']);
  });
});

describe('faults', () => {
  it('failAfterApply: the mutation is applied, the answer is a 500, and the retry with the same key replays (applied once)', async () => {
    run.emulator.failNextRequests(SHOP_A, 1, { afterApply: true });
    const vars = setVars([{ inventoryItemId: s.items[0]!.inventoryItemId, locationId: s.locA, quantity: 4, changeFromQuantity: 10 }], 'k-lost');
    const lost = await gql(run.url, SET_MUTATION, vars);
    expect(lost.status).toBe(500);
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(4);
    const retry = await gql(run.url, SET_MUTATION, vars);
    expect(retry.status).toBe(200);
    expect(retry.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(retry.body.data.inventorySetQuantities.inventoryAdjustmentGroup.changes[0]).toMatchObject({ delta: -6, quantityAfterChange: 4 });
    expect(run.emulator.counters(SHOP_A).mutationsAppliedByKey['k-lost']).toBe(1);
  });

  it('a 5xx before apply leaves state untouched; seeded rates are reproducible', async () => {
    run.emulator.failNextRequests(SHOP_A, 1, { status: 502 });
    const vars = setVars([{ inventoryItemId: s.items[0]!.inventoryItemId, locationId: s.locA, quantity: 4, changeFromQuantity: 10 }], 'k-early');
    expect((await gql(run.url, SET_MUTATION, vars)).status).toBe(502);
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(10);

    const pattern = async () => {
      run.emulator.setFaults(SHOP_A, { seed: 42, errorRate5xx: 0.5 });
      const out = [];
      for (let i = 0; i < 12; i++) out.push((await gql(run.url, LOC_Q)).status);
      return out.join(',');
    };
    const first = await pattern();
    expect(first).toContain('503');
    expect(first).toContain('200');
    expect(await pattern()).toBe(first);
  });

  it('timeouts: hang then 504, or a closed socket; latency is added', async () => {
    run.emulator.setFaults(SHOP_A, { timeoutRate: 1, timeoutMs: 50 });
    expect((await gql(run.url, LOC_Q)).status).toBe(504);
    run.emulator.setFaults(SHOP_A, { timeoutMode: 'close' });
    await expect(gql(run.url, LOC_Q)).rejects.toThrow();
    run.emulator.setFaults(SHOP_A, { timeoutRate: 0, latencyMs: 120 });
    const t0 = performance.now();
    expect((await gql(run.url, LOC_Q)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    expect(run.emulator.counters(SHOP_A).timeouts).toBe(2);
  });

  it('faults can be set through the control API', async () => {
    expect((await control(run.url, 'POST', `/shops/${SHOP_A}/faults`, { forceThrottle: true })).status).toBe(200);
    expect((await gql(run.url, LOC_Q)).body.errors[0].extensions.code).toBe('THROTTLED');
    expect((await control(run.url, 'POST', `/shops/${SHOP_A}/faults`, { clear: true })).status).toBe(200);
    expect((await gql(run.url, LOC_Q)).status).toBe(200);
    expect((await control(run.url, 'POST', `/shops/${SHOP_A}/faults`, { errorRate5xx: 2 })).status).toBe(400);
  });
});

describe('cli', () => {
  it('runEmulatorFromCli starts an empty emulator on the requested plan', async () => {
    const { runEmulatorFromCli } = await import('../../../src/shopify/emulator/cli.js');
    const cli = await runEmulatorFromCli({ port: 0, plan: 'plus' });
    try {
      expect(cli.emulator.shops.size).toBe(0);
      expect(cli.emulator.defaultPlan).toBe('plus');
      const r = await control(cli.url, 'POST', '/shops', { domain: 'c.myshopify.com', accessToken: 'c' });
      expect(r.body).toEqual({ domain: 'c.myshopify.com', plan: 'plus' });
    } finally {
      await cli.close();
    }
  });
});
