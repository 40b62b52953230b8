import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../src/shopify/emulator/index.js';
import { SET_MUTATION, SHOP_A, client, gql, seed, setVars, start, type Seeded } from './helpers.js';

let run: RunningEmulator;
let s: Seeded;

beforeEach(async () => {
  run ??= await start();
  run.emulator.reset();
  s = seed(run, 3);
});
afterAll(async () => run?.close());

const q = (i: number, quantity: number, changeFromQuantity: number | null, loc?: string) => ({
  inventoryItemId: s.items[i]!.inventoryItemId,
  locationId: loc ?? s.locA,
  quantity,
  changeFromQuantity,
});

describe('inventorySetQuantities', () => {
  it('the reference example through the real admin-api-client: sets available, moves on_hand, lists both changes', async () => {
    const c = client(run.url);
    const res = await c.request(SET_MUTATION, { variables: setVars([q(0, 42, 10)], 'key-ref-1') });
    expect(res.errors).toBeUndefined();
    const payload = res.data.inventorySetQuantities;
    expect(payload.userErrors).toEqual([]);
    expect(payload.inventoryAdjustmentGroup.reason).toBe('correction');
    expect(payload.inventoryAdjustmentGroup.referenceDocumentUri).toBe('gid://inventory-sync/Sync/1');
    expect(payload.inventoryAdjustmentGroup.changes).toEqual([
      { name: 'available', delta: 32, quantityAfterChange: 42, item: { id: s.items[0]!.inventoryItemId }, location: { id: s.locA } },
      { name: 'on_hand', delta: 32, quantityAfterChange: 42, item: { id: s.items[0]!.inventoryItemId }, location: { id: s.locA } },
    ]);
    expect(res.extensions?.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10, throttleStatus: { maximumAvailable: 2000, restoreRate: 100 } });
    const level = run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA);
    expect(level.available).toBe(42);
    expect(level.on_hand).toBe(42);
    expect(run.emulator.counters(SHOP_A).mutationsAppliedByKey['key-ref-1']).toBe(1);
  });

  it('setting on_hand moves available by the same delta (committed stays)', async () => {
    run.emulator.setQuantities(SHOP_A, s.items[0]!.inventoryItemId, s.locA, { available: 10, committed: 3 });
    const res = await gql(run.url, SET_MUTATION, setVars([q(0, 20, 13)], 'k-onhand', 'on_hand'));
    expect(res.body.data.inventorySetQuantities.userErrors).toEqual([]);
    const level = run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA);
    expect([level.available, level.committed, level.on_hand]).toEqual([17, 3, 20]);
  });

  it('refuses the mutation without @idempotent, naming the directive, and applies nothing', async () => {
    const query = SET_MUTATION.replace('@idempotent(key: $idempotencyKey)', '').replace(', $idempotencyKey: String!', '');
    const vars = setVars([q(0, 5, 10)], 'unused');
    delete (vars as Record<string, unknown>).idempotencyKey;
    const res = await gql(run.url, query, vars);
    expect(res.status).toBe(200);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors[0].message).toContain('@idempotent');
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(10);
  });

  it('refuses a quantity that omits changeFromQuantity (null is accepted)', async () => {
    const omitted = { inventoryItemId: s.items[0]!.inventoryItemId, locationId: s.locA, quantity: 5 };
    const res = await gql(run.url, SET_MUTATION, setVars([q(1, 4, null), omitted], 'k-omit'));
    expect(res.body.errors[0].message).toContain('changeFromQuantity');
    expect(res.body.errors[0].extensions.field).toEqual(['input', 'quantities', '1', 'changeFromQuantity']);
    expect(run.emulator.getLevel(SHOP_A, s.items[1]!.inventoryItemId, s.locA).available).toBe(10);
    const ok = await gql(run.url, SET_MUTATION, setVars([q(1, 4, null)], 'k-null'));
    expect(ok.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(run.emulator.getLevel(SHOP_A, s.items[1]!.inventoryItemId, s.locA).available).toBe(4);
  });

  it('a stale compare gives CHANGE_FROM_QUANTITY_STALE and applies nothing of the call', async () => {
    const res = await gql(run.url, SET_MUTATION, setVars([q(0, 1, 10), q(1, 2, 10), q(2, 3, 9)], 'k-stale'));
    const p = res.body.data.inventorySetQuantities;
    expect(p.inventoryAdjustmentGroup).toBeNull();
    expect(p.userErrors).toEqual([
      { code: 'CHANGE_FROM_QUANTITY_STALE', field: ['input', 'quantities', '2', 'changeFromQuantity'], message: expect.any(String) },
    ]);
    for (const it of s.items) expect(run.emulator.getLevel(SHOP_A, it.inventoryItemId, s.locA).available).toBe(10);
    expect(run.emulator.counters(SHOP_A).mutationsAppliedByKey['k-stale']).toBeUndefined();
  });

  it('the same key and variables replay the original response; nothing is applied again', async () => {
    const vars = setVars([q(0, 15, 10)], 'k-repeat');
    const first = await gql(run.url, SET_MUTATION, vars);
    run.emulator.setQuantities(SHOP_A, s.items[0]!.inventoryItemId, s.locA, { available: 50 });
    const second = await gql(run.url, SET_MUTATION, vars);
    expect(second.body.data).toEqual(first.body.data);
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(50);
    const counters = run.emulator.counters(SHOP_A);
    expect(counters.mutationsAppliedByKey['k-repeat']).toBe(1);
    expect(counters.idempotentReplays).toBe(1);
  });

  it('the same key with other variables gives IDEMPOTENCY_KEY_PARAMETER_MISMATCH', async () => {
    await gql(run.url, SET_MUTATION, setVars([q(0, 15, 10)], 'k-mm'));
    const res = await gql(run.url, SET_MUTATION, setVars([q(0, 16, 15)], 'k-mm'));
    expect(res.body.data.inventorySetQuantities.userErrors.map((e: { code: string }) => e.code)).toEqual(['IDEMPOTENCY_KEY_PARAMETER_MISMATCH']);
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(15);
  });

  it('the same key while the first call is in flight gives IDEMPOTENCY_CONCURRENT_REQUEST', async () => {
    run.emulator.setFaults(SHOP_A, { latencyMs: 150 });
    const vars = setVars([q(0, 7, 10)], 'k-conc');
    const [a, b] = await Promise.all([gql(run.url, SET_MUTATION, vars), new Promise((r) => setTimeout(r, 40)).then(() => gql(run.url, SET_MUTATION, vars))]);
    expect(a.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(b.body.data.inventorySetQuantities.userErrors[0].code).toBe('IDEMPOTENCY_CONCURRENT_REQUEST');
    expect(run.emulator.counters(SHOP_A).mutationsAppliedByKey['k-conc']).toBe(1);
  });

  it('more than 250 entries is a top-level error stating the maximum 250', async () => {
    const many = Array.from({ length: 251 }, () => q(0, 1, null));
    const res = await gql(run.url, SET_MUTATION, setVars(many, 'k-251'));
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors[0].message).toBe('The input array size of 251 is greater than the maximum allowed of 250.');
    expect(res.body.errors[0].extensions.code).toBe('MAX_INPUT_SIZE_EXCEEDED');
    expect(run.emulator.counters(SHOP_A).mutationsApplied).toBe(0);
  });

  it('rejects duplicate pairs, unknown ids, negative and too-high quantities with field paths', async () => {
    const res = await gql(
      run.url,
      SET_MUTATION,
      setVars(
        [
          q(0, 1, null),
          q(0, 2, null),
          { inventoryItemId: 'gid://shopify/InventoryItem/999999', locationId: s.locA, quantity: 1, changeFromQuantity: null },
          { inventoryItemId: s.items[1]!.inventoryItemId, locationId: 'gid://shopify/Location/999999', quantity: 1, changeFromQuantity: null },
          q(1, -1, null),
          q(2, 1_000_000_001, null),
        ],
        'k-bad',
      ),
    );
    expect(res.body.data.inventorySetQuantities.userErrors.map((e: { code: string; field: string[] }) => [e.code, e.field.join('.')])).toEqual([
      ['NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR', 'input.quantities.1'],
      ['INVALID_INVENTORY_ITEM', 'input.quantities.2.inventoryItemId'],
      ['INVALID_LOCATION', 'input.quantities.3.locationId'],
      ['INVALID_QUANTITY_NEGATIVE', 'input.quantities.4.quantity'],
      ['INVALID_QUANTITY_TOO_HIGH', 'input.quantities.5.quantity'],
    ]);
    expect(run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA).available).toBe(10);
  });

  it('fires inventory_levels/update for each changed level', async () => {
    // Checked in the webhook suite for orders; here the counter of queued deliveries is enough without a URL.
    const res = await gql(run.url, SET_MUTATION, setVars([q(0, 11, 10), q(1, 12, 10)], 'k-wh'));
    expect(res.body.data.inventorySetQuantities.inventoryAdjustmentGroup.changes).toHaveLength(4);
  });
});

describe('inventoryAdjustQuantities and inventoryMoveQuantities', () => {
  const ADJUST = /* GraphQL */ `
    mutation Adjust($input: InventoryAdjustQuantitiesInput!, $k: String!) {
      inventoryAdjustQuantities(input: $input) @idempotent(key: $k) {
        inventoryAdjustmentGroup { changes { name delta quantityAfterChange } }
        userErrors { code field message }
      }
    }`;
  const MOVE = /* GraphQL */ `
    mutation Move($input: InventoryMoveQuantitiesInput!, $k: String!) {
      inventoryMoveQuantities(input: $input) @idempotent(key: $k) {
        inventoryAdjustmentGroup { changes { name delta quantityAfterChange } }
        userErrors { code field message }
      }
    }`;

  it('ledgerDocumentUri is forbidden for available and required for other states', async () => {
    const change = (extra: Record<string, unknown>) => ({ inventoryItemId: s.items[0]!.inventoryItemId, locationId: s.locA, delta: 2, changeFromQuantity: null, ...extra });
    const forbidden = await gql(run.url, ADJUST, { input: { name: 'available', reason: 'correction', changes: [change({ ledgerDocumentUri: 'erp://doc/1' })] }, k: 'a1' });
    expect(forbidden.body.data.inventoryAdjustQuantities.userErrors[0]).toMatchObject({ code: 'INVALID_LEDGER_DOCUMENT', field: ['input', 'changes', '0', 'ledgerDocumentUri'] });
    const required = await gql(run.url, ADJUST, { input: { name: 'damaged', reason: 'damaged', changes: [change({})] }, k: 'a2' });
    expect(required.body.data.inventoryAdjustQuantities.userErrors[0]).toMatchObject({ code: 'INVALID_LEDGER_DOCUMENT' });
    const ok = await gql(run.url, ADJUST, { input: { name: 'damaged', reason: 'damaged', changes: [change({ ledgerDocumentUri: 'erp://doc/1' })] }, k: 'a3' });
    expect(ok.body.data.inventoryAdjustQuantities.inventoryAdjustmentGroup.changes).toEqual([
      { name: 'damaged', delta: 2, quantityAfterChange: 2 },
      { name: 'on_hand', delta: 2, quantityAfterChange: 12 },
    ]);
    const avail = await gql(run.url, ADJUST, { input: { name: 'available', reason: 'correction', changes: [change({ delta: -4, changeFromQuantity: 10 })] }, k: 'a4' });
    expect(avail.body.data.inventoryAdjustQuantities.userErrors).toEqual([]);
    const level = run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA);
    expect([level.available, level.damaged, level.on_hand]).toEqual([6, 2, 8]);
  });

  it('moves between states at one location with a compare on each end', async () => {
    const input = (fromCfq: number | null) => ({
      reason: 'quality_control',
      referenceDocumentUri: 'wms://move/1',
      changes: [
        {
          inventoryItemId: s.items[0]!.inventoryItemId,
          quantity: 3,
          from: { locationId: s.locA, name: 'available', changeFromQuantity: fromCfq },
          to: { locationId: s.locA, name: 'quality_control', ledgerDocumentUri: 'wms://qc/1', changeFromQuantity: 0 },
        },
      ],
    });
    const stale = await gql(run.url, MOVE, { input: input(9), k: 'm1' });
    expect(stale.body.data.inventoryMoveQuantities.userErrors[0]).toMatchObject({ code: 'CHANGE_FROM_QUANTITY_STALE', field: ['input', 'changes', '0', 'from', 'changeFromQuantity'] });
    const ok = await gql(run.url, MOVE, { input: input(10), k: 'm2' });
    expect(ok.body.data.inventoryMoveQuantities.userErrors).toEqual([]);
    const level = run.emulator.getLevel(SHOP_A, s.items[0]!.inventoryItemId, s.locA);
    expect([level.available, level.quality_control, level.on_hand]).toEqual([7, 3, 10]);
  });
});
