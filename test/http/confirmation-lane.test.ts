import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertAllocation, convertKnownOrderConfirmations, type KnownOrderConfirmation } from '../../src/db/claim-conversion.js';
import { applyClaims } from '../../src/db/claims.js';
import { claimReservationHandoffs, recordReservationHandoffs } from '../../src/db/handoffs.js';
import type { Db } from '../../src/db/pool.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { ALLOCATION_SIGNAL, claimLineId, ORDER_EVENT_SIGNAL, type AllocationEvent } from '../../src/domain/reservation-model.js';
import { confirmationPass } from '../../src/starters/http/confirmations.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

const LOC = 'WH1';
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/**
 * The sweeper's confirmation lane (src/starters/http/confirmations.ts): a WMS confirmation of a known order is
 * converted in PostgreSQL before its signal goes to the workflow. Each test has a shop of its own, so a pass sees
 * only the rows the test wrote.
 */
describe('the confirmation lane', () => {
  let svc: TestServices;
  const run = Date.now().toString(36);
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => {
    await svc?.close();
  });

  /** The test pool, with the connections whose number (1, 2, ...) `refuse` names refused; plain queries go through. */
  const refusingConnections = (refuse: (n: number) => boolean): Db => {
    const db = Object.create(svc.db) as Db;
    let connects = 0;
    db.connect = (async () => {
      if (refuse(++connects)) throw new Error('connection refused (test)');
      return svc.db.connect();
    }) as Db['connect'];
    db.query = svc.db.query.bind(svc.db) as Db['query'];
    return db;
  };

  const shop = async (name: string) => {
    const shopId = `cl-${name}-${run}`;
    const wms = `${shopId}-wms`;
    const config = testConfig({
      shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'X_TOKEN', webhook_secret_env: 'X_SECRET' }],
      sources: [{ name: wms, role: 'wms', type: 'postgres' }],
    });
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
    const confirm = (orderId: string, sku: string, quantity: number) => {
      const event: AllocationEvent = { allocationId: `a-${orderId}`, source: wms, occurredAt: at(5), lines: [{ lineId: '1', sku, locationId: LOC, quantity }] };
      return recordReservationHandoffs(svc.db, [{ handoff: { shopId, orderId, signal: ALLOCATION_SIGNAL, payload: event }, allocation: event }]);
    };
    const claim = (orderId: string, sku: string, quantity: number, racePoints?: { beforeCommit(): Promise<void> }) =>
      applyClaims({ db: svc.db, ...(racePoints ? { claimRacePoints: racePoints } : {}) }, {
        shopId, orderId, workflowId: `reservation:${shopId}:${orderId}`, origin: 'shopify', lastEventAt: at(1), expiresAt: null,
        lines: [{ lineId: claimLineId('1', LOC), sku, locationId: LOC, quantity }],
      });
    /** A claim held open after its reads, before its commit (its order's lock taken); `release` lets it commit. */
    const heldClaim = async (orderId: string, sku: string, quantity: number) => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let reached!: () => void;
      const atCommit = new Promise<void>((r) => (reached = r));
      const done = claim(orderId, sku, quantity, { beforeCommit: async () => { reached(); await held; } });
      await atCommit;
      return { release, done };
    };
    /** The WMS's allocated total, as new as the confirmation or newer: a confirmed unit is due for conversion. */
    const wmsTotal = (sku: string, quantity: number) => recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity, occurredAt: at(6) }]);
    const rows = async () =>
      (await svc.db.query<{ signal: string; converted: boolean; claimed: boolean }>(
        `SELECT signal, converted_at IS NOT NULL AS converted, claimed_until IS NOT NULL AS claimed FROM reservation_handoffs WHERE shop_id = $1 ORDER BY id`,
        [shopId],
      )).rows;
    const line = async (orderId: string) =>
      (await svc.db.query<{ claimed: number; allocated: number }>(`SELECT claimed, allocated FROM claim_lines WHERE shop_id = $1 AND order_id = $2`, [shopId, orderId])).rows;
    const queuedKeys = async () =>
      (await svc.db.query<{ sku: string; trigger: string }>(`SELECT sku, trigger FROM refresh_handoffs WHERE shop_id = $1 ORDER BY sku`, [shopId])).rows;
    const pass = (db: Db = svc.db) => confirmationPass({ db, config }, [shopId], 0);
    /** Whether each row's signal tells its workflow that the lane queued the refresh (payload `refreshQueued`). */
    const refreshQueued = async () =>
      (await svc.db.query<{ q: boolean }>(`SELECT coalesce((payload->>'refreshQueued')::boolean, false) AS q FROM reservation_handoffs WHERE shop_id = $1 ORDER BY id`, [shopId])).rows.map((r) => r.q);
    return { shopId, confirm, claim, heldClaim, wmsTotal, rows, line, queuedKeys, pass, refreshQueued };
  };

  it("converts a known order's confirmation and queues its key for the refresh, with no workflow and no Temporal", async () => {
    const s = await shop('known');
    await s.claim('o-1', 'K-1', 3);
    // The WMS's total shows the 2 units before their confirmation comes (had it come after, the total's own write
    // would convert them).
    await s.wmsTotal('K-1', 2);
    await s.confirm('o-1', 'K-1', 2);
    // Before the lane: 3 claimed and 2 in the WMS total, 2 of the same units counted twice.
    expect(await s.line('o-1')).toEqual([{ claimed: 3, allocated: 0 }]);

    const out = await s.pass();
    expect(out).toMatchObject({ claimed: 1, done: 1, converted: 1, failed: false });
    expect(await s.line('o-1')).toEqual([{ claimed: 1, allocated: 2 }]);
    expect(await s.queuedKeys()).toEqual([{ sku: 'K-1', trigger: 'wms_allocation' }]);
    // The row stays for the order lane, which signals the workflow; the lane does not take it again.
    expect(await s.rows()).toEqual([{ signal: ALLOCATION_SIGNAL, converted: true, claimed: false }]);
    // Its signal tells the workflow the refresh is queued, so the workflow does not queue the key again.
    expect(await s.refreshQueued()).toEqual([true]);
    expect((await s.pass()).claimed).toBe(0);

    // The workflow's own step, when the signal reaches it, converts nothing twice.
    const again = await convertAllocation({ db: svc.db }, {
      shopId: s.shopId, orderId: 'o-1', workflowId: `reservation:${s.shopId}:o-1`, origin: 'shopify',
      allocation: { allocationId: 'a-o-1', source: `${s.shopId}-wms`, occurredAt: at(5), lines: [{ lineId: '1', sku: 'K-1', locationId: LOC, quantity: 2 }] },
    });
    expect(again.converted).toBe(0);
    expect(again.state).toBe('partially_allocated');
    expect(await s.line('o-1')).toEqual([{ claimed: 1, allocated: 2 }]);
  });

  it("leaves a confirmation to its workflow while the order's claim is in flight, without waiting for it", async () => {
    const s = await shop('inflight');
    await s.wmsTotal('F-1', 1);
    // The order's first claim has read its confirmations (none yet) and not committed.
    const claim = await s.heldClaim('o-2', 'F-1', 2);
    await s.confirm('o-2', 'F-1', 1);
    try {
      const out = await s.pass();
      expect(out).toMatchObject({ claimed: 1, done: 1, converted: 0, failed: false });
      // Past the lane, for the order lane to signal; nothing converted here, nothing queued.
      expect(await s.rows()).toEqual([{ signal: ALLOCATION_SIGNAL, converted: true, claimed: false }]);
      expect(await s.queuedKeys()).toEqual([]);
      // The workflow converts it and owes its refresh: no mark.
      expect(await s.refreshQueued()).toEqual([false]);
    } finally {
      claim.release();
    }
    await claim.done;
    expect(await s.line('o-2')).toEqual([{ claimed: 2, allocated: 0 }]);
  });

  it("drops an unknown order's row and leaves its confirmation for the order's claim", async () => {
    const s = await shop('unseen');
    await s.confirm('o-3', 'U-1', 1);
    expect(await s.pass()).toMatchObject({ claimed: 1, done: 1, converted: 0 });
    expect(await s.rows()).toEqual([]);
    const waiting = await svc.db.query(`SELECT applied_at FROM wms_allocations WHERE shop_id = $1 AND order_id = 'o-3'`, [s.shopId]);
    expect(waiting.rows).toEqual([{ applied_at: null }]);
    expect(await svc.db.query(`SELECT 1 FROM reservations WHERE shop_id = $1`, [s.shopId]).then((r) => r.rowCount)).toBe(0);
  });

  it("gives a confirmation back when its conversion fails, and converts it on the next pass", async () => {
    const s = await shop('fails');
    await s.claim('o-4', 'E-1', 2);
    await s.wmsTotal('E-1', 2);
    await s.confirm('o-4', 'E-1', 2);
    // Every connection for a conversion is refused: the lane's look (its first transaction) and its plain
    // statements go through.
    const failed = await s.pass(refusingConnections((n) => n > 1));
    expect(failed).toMatchObject({ claimed: 1, done: 0, converted: 0, failed: true });
    expect(await s.rows()).toEqual([{ signal: ALLOCATION_SIGNAL, converted: false, claimed: false }]);
    expect(await s.line('o-4')).toEqual([{ claimed: 2, allocated: 0 }]);
    expect(await s.pass()).toMatchObject({ claimed: 1, done: 1, converted: 1, failed: false });
    expect(await s.line('o-4')).toEqual([{ claimed: 0, allocated: 2 }]);
  });

  it('a confirmation failing for over a minute is left to its workflow, and the lane goes on', async () => {
    const s = await shop('poison');
    await s.claim('o-11', 'J-1', 2);
    await s.confirm('o-11', 'J-1', 2);
    await svc.db.query(`UPDATE reservation_handoffs SET created_at = now() - interval '2 minutes' WHERE shop_id = $1`, [s.shopId]);
    expect(await s.pass(refusingConnections((n) => n > 1))).toMatchObject({ claimed: 1, done: 1, converted: 0, failed: false });
    // Past the lane unconverted: the order lane signals it, and the workflow's own step converts it (retried by Temporal).
    expect(await s.rows()).toEqual([{ signal: ALLOCATION_SIGNAL, converted: true, claimed: false }]);
    expect(await s.refreshQueued()).toEqual([false]);
    expect(await s.line('o-11')).toEqual([{ claimed: 2, allocated: 0 }]);
  });

  it('a batch that fails is converted one order at a time', async () => {
    const s = await shop('batchfails');
    await s.claim('o-7', 'G-1', 2);
    await s.wmsTotal('G-1', 2);
    await s.confirm('o-7', 'G-1', 2);
    // The batch's connection (the second) is refused; the order's own conversion after it goes through.
    expect(await s.pass(refusingConnections((n) => n === 2))).toMatchObject({ claimed: 1, done: 1, converted: 1, failed: false });
    expect(await s.line('o-7')).toEqual([{ claimed: 0, allocated: 2 }]);
    expect(await s.queuedKeys()).toEqual([{ sku: 'G-1', trigger: 'wms_allocation' }]);
    expect(await s.refreshQueued()).toEqual([true]);
  });

  it('the order lane never takes a confirmation the lane has not converted, and takes order events first', async () => {
    const s = await shop('order');
    await s.claim('o-5', 'P-1', 1);
    await s.claim('o-8', 'P-2', 1);
    await s.confirm('o-5', 'P-1', 1); // the oldest row, not converted yet
    const claimOne = () => claimReservationHandoffs(svc.db, { shops: [s.shopId], limit: 1, minAgeMs: 0, leaseMs: 30_000 });
    expect(await claimOne()).toEqual([]);
    await s.pass();
    // Converted, and older than the order event committed next: the event still goes first.
    await recordReservationHandoffs(svc.db, [{ handoff: { shopId: s.shopId, orderId: 'o-6', signal: ORDER_EVENT_SIGNAL, payload: { kind: 'cancelled' } as never } }]);
    expect((await claimOne()).map((r) => r.handoff.signal)).toEqual([ORDER_EVENT_SIGNAL]);
    // While another confirmation of the shop waits to be converted, a converted one's signal waits (up to 5 s).
    await s.confirm('o-8', 'P-2', 1);
    expect(await claimOne()).toEqual([]);
    await s.pass();
    expect((await claimOne()).map((r) => [r.handoff.signal, r.handoff.orderId])).toEqual([[ALLOCATION_SIGNAL, 'o-5']]);
  });

  it("converts a reserved order whose claim is in flight after the batch, once the claim commits", async () => {
    const s = await shop('busy');
    await s.claim('o-9', 'H-1', 2);
    await s.claim('o-10', 'H-2', 1);
    await s.wmsTotal('H-1', 2);
    await s.wmsTotal('H-2', 1);
    await s.confirm('o-9', 'H-1', 2);
    await s.confirm('o-10', 'H-2', 1);
    // o-9's second claim (an edit) holds its lock, before its commit.
    const edit = await s.heldClaim('o-9', 'H-1', 2);
    const pass = s.pass();
    // The batch converts o-10 without waiting for o-9's claim; o-9 waits for it, on its own.
    await expect.poll(async () => (await s.line('o-10'))[0]?.allocated, { timeout: 10_000 }).toBe(1);
    expect(await s.line('o-9')).toEqual([{ claimed: 2, allocated: 0 }]);
    edit.release();
    await edit.done;
    expect(await pass).toMatchObject({ claimed: 2, done: 2, converted: 2, failed: false });
    expect(await s.line('o-9')).toEqual([{ claimed: 0, allocated: 2 }]);
  });

  // The lane converts a batch in one transaction (convertKnownOrderConfirmations); the workflow's step converts one
  // confirmation at a time (convertAllocation). The same confirmations, through each, leave the same rows.
  it('a batch converts exactly what the confirmations one at a time convert', async () => {
    const scenario = async (name: string) => {
      const s = await shop(name);
      const wms = `${s.shopId}-wms`;
      const allocation = (id: string, lines: [string, string, number][], second = 5): AllocationEvent => ({
        allocationId: id, source: wms, occurredAt: at(second), lines: lines.map(([lineId, sku, quantity]) => ({ lineId, sku, locationId: LOC, quantity })),
      });
      // Two orders at one key, both due; a key whose WMS total is older than its confirmation (stays awaiting); a
      // line the order does not have; an order cancelled before its confirmation; an order with no line at all.
      await s.claim('o-a', 'B-1', 2);
      await s.claim('o-b', 'B-1', 3);
      await s.claim('o-c', 'B-2', 4);
      await s.claim('o-d', 'B-3', 1);
      await applyClaims({ db: svc.db }, { shopId: s.shopId, orderId: 'o-d', workflowId: `reservation:${s.shopId}:o-d`, origin: 'shopify', lastEventAt: at(2), expiresAt: null, lines: [], terminal: 'cancelled' });
      await svc.db.query(`INSERT INTO reservations (shop_id, order_id, origin, state, workflow_id) VALUES ($1, 'o-e', 'shopify', 'pending', 'wf')`, [s.shopId]);
      await recordSourceChanges(svc.db, wms, [
        { shopId: s.shopId, sku: 'B-1', locationId: LOC, quantity: 4, occurredAt: at(9) },
        { shopId: s.shopId, sku: 'B-2', locationId: LOC, quantity: 0, occurredAt: at(1) },
        { shopId: s.shopId, sku: 'B-3', locationId: LOC, quantity: 1, occurredAt: at(9) },
        { shopId: s.shopId, sku: 'B-4', locationId: LOC, quantity: 1, occurredAt: at(9) },
      ]);
      const items: KnownOrderConfirmation[] = [
        { shopId: s.shopId, orderId: 'o-a', allocation: allocation('a-1', [['1', 'B-1', 2]]) },
        { shopId: s.shopId, orderId: 'o-b', allocation: allocation('a-2', [['1', 'B-1', 1], ['7', 'B-1', 1]]) },
        { shopId: s.shopId, orderId: 'o-c', allocation: allocation('a-3', [['1', 'B-2', 2]]) },
        { shopId: s.shopId, orderId: 'o-d', allocation: allocation('a-4', [['1', 'B-3', 1]]) },
        { shopId: s.shopId, orderId: 'o-e', allocation: allocation('a-5', [['1', 'B-4', 1]]) },
      ];
      const rows = async () => ({
        lines: (await svc.db.query(`SELECT order_id, line_id, sku, claimed, allocated FROM claim_lines WHERE shop_id = $1 ORDER BY order_id, line_id`, [s.shopId])).rows,
        confirmations: (await svc.db.query(`SELECT order_id, allocation_id, line_id, applied_at IS NOT NULL AS applied, converted FROM wms_allocations WHERE shop_id = $1 ORDER BY order_id, allocation_id, line_id`, [s.shopId])).rows,
        states: (await svc.db.query(`SELECT order_id, state FROM reservations WHERE shop_id = $1 ORDER BY order_id`, [s.shopId])).rows,
      });
      return { s, items, rows };
    };

    const one = await scenario('one-by-one');
    for (const c of one.items) await convertAllocation({ db: svc.db }, { ...c, workflowId: `reservation:${c.shopId}:${c.orderId}`, origin: null });
    const batched = await scenario('batched');
    const out = await convertKnownOrderConfirmations({ db: svc.db }, batched.items);
    // The order with no claim line is left to convertAllocation (its first lines take every waiting one over).
    expect(out.oneByOne.map((c) => c.orderId)).toEqual(['o-e']);
    for (const c of out.oneByOne) await convertAllocation({ db: svc.db }, { ...c, workflowId: `reservation:${c.shopId}:${c.orderId}`, origin: null });
    expect(out.changedKeys.map((k) => k.key.sku).sort()).toEqual(['B-1', 'B-2', 'B-3']);

    const want = await one.rows();
    expect(await batched.rows()).toEqual(want);
    // What the rows say, so the comparison cannot pass on two empty tables.
    expect(want.states).toEqual([
      { order_id: 'o-a', state: 'allocated' },
      { order_id: 'o-b', state: 'partially_allocated' },
      { order_id: 'o-c', state: 'partially_allocated' }, // confirmed, awaiting the WMS total
      { order_id: 'o-d', state: 'cancelled' },
      { order_id: 'o-e', state: 'pending' },
    ]);
    expect(want.confirmations.filter((c: { applied: boolean }) => c.applied).length).toBe(5);
  });
});
