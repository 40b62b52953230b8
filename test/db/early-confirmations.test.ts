import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertAllocation } from '../../src/db/claim-conversion.js';
import { applyClaims, type ApplyClaimsInput } from '../../src/db/claims.js';
import { lookForOrders, ordersNeverArrived } from '../../src/db/early-confirmations.js';
import { recordReservationHandoffs } from '../../src/db/handoffs.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { ALLOCATION_SIGNAL, claimLineId, type AllocationEvent } from '../../src/domain/reservation-model.js';
import { readComponents } from '../../src/sources/components.js';
import { createSources } from '../../src/runtime/sources.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

const LOC = 'WH1';
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/**
 * A WMS confirmation of an order we have not seen starts no workflow: the sweeper leaves it in wms_allocations and
 * the order's first claim takes it over (src/db/early-confirmations.ts). These tests hold the claim transaction
 * open where the sweeper races it, and check each unit is counted once after the take-over.
 */
describe('WMS confirmations that come before their order', () => {
  let svc: TestServices;
  const shopId = `early-${Date.now().toString(36)}`;
  const wms = `${shopId}-wms`;
  const config = testConfig({
    shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'X_TOKEN', webhook_secret_env: 'X_SECRET' }],
    sources: [
      { name: `${shopId}-erp`, role: 'erp', type: 'postgres' },
      { name: wms, role: 'wms', type: 'postgres' },
    ],
  });
  beforeAll(async () => {
    svc = await connectTestServices();
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
  });
  afterAll(async () => {
    await svc?.close();
  });

  /** The route's commit: the confirmation's lines and its signal, in one statement. */
  const confirm = (orderId: string, a: Omit<AllocationEvent, 'source'>) => {
    const event: AllocationEvent = { ...a, source: wms };
    return recordReservationHandoffs(svc.db, [{ handoff: { shopId, orderId, signal: ALLOCATION_SIGNAL, payload: event }, allocation: event }]);
  };
  const claimInput = (orderId: string, sku: string, quantity: number): ApplyClaimsInput => ({
    shopId, orderId, workflowId: `wf-${orderId}`, origin: 'shopify', lastEventAt: at(10), expiresAt: null,
    lines: [{ lineId: claimLineId('1', LOC), sku, locationId: LOC, quantity }],
  });
  const counted = async (sku: string) => {
    const c = (await readComponents({ db: svc.db, config, sources: createSources(config, svc.db) }, shopId, [{ sku, locationId: LOC }])).get(`${sku}|${LOC}`)!;
    if (c.status !== 'ok') throw new Error(`no on-hand for ${sku}`);
    return { openClaims: c.components.openClaims, wmsAllocated: c.components.wmsAllocated };
  };
  const stock = (sku: string, wmsTotal: number, occurredAt: string) =>
    Promise.all([
      recordSourceChanges(svc.db, `${shopId}-erp`, [{ shopId, sku, locationId: LOC, quantity: 100, occurredAt: at(0) }]),
      recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: wmsTotal, occurredAt }]),
    ]);
  const waitingOnAdvisoryLock = async () =>
    (await svc.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`)).rows[0]!.n;

  it('a sweep while a claim is in flight signals the confirmation (the claim may have read before its commit), without waiting', async () => {
    const sku = 'RACE-1';
    await stock(sku, 0, at(0));
    // The claim has read the order's confirmations (none yet) and not committed.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reachedCommit!: () => void;
    const atCommit = new Promise<void>((r) => (reachedCommit = r));
    const claim = applyClaims({ db: svc.db, claimRacePoints: { beforeCommit: async () => { reachedCommit(); await held; } } }, claimInput('o-race', sku, 3));
    await atCommit;
    // The WMS's confirmation is committed by the route, then the sweeper looks for the order's reservation: it
    // sees the claim's lock taken and counts the order as known (its workflow runs: the confirmation is signalled).
    // Without the claim's lock it would find no reservation, and the confirmation would be lost to both.
    await confirm('o-race', { allocationId: 'a-1', occurredAt: at(5), lines: [{ lineId: '1', sku, locationId: LOC, quantity: 1 }] });
    const look = await lookForOrders(svc.db, [{ shopId, orderId: 'o-race' }, { shopId, orderId: 'o-nobody' }]);
    expect(look({ shopId, orderId: 'o-race' })).toBe('claimInFlight');
    expect(look({ shopId, orderId: 'o-nobody' })).toBe('unseen');
    expect(await waitingOnAdvisoryLock()).toBe(0);
    release();
    await claim;
  });

  it('a claim that starts while a sweep holds its look waits for it, then reads the confirmation the sweep passed over', async () => {
    const sku = 'RACE-2';
    await stock(sku, 0, at(0));
    await confirm('o-race-2', { allocationId: 'a-1', occurredAt: at(5), lines: [{ lineId: '1', sku, locationId: LOC, quantity: 1 }] });
    // The sweep's shared lock, held as its transaction is between its try and its look.
    const sweep = await svc.db.connect();
    try {
      await sweep.query('BEGIN');
      expect((await sweep.query(`SELECT pg_try_advisory_xact_lock_shared(order_claim_key($1, 'o-race-2')) AS locked`, [shopId])).rows[0].locked).toBe(true);
      const claim = applyClaims({ db: svc.db }, claimInput('o-race-2', sku, 3));
      await expect.poll(waitingOnAdvisoryLock, { timeout: 10_000, interval: 20 }).toBe(1);
      expect((await sweep.query(`SELECT count(*)::int AS n FROM reservations WHERE shop_id = $1 AND order_id = 'o-race-2'`, [shopId])).rows[0].n).toBe(0);
      await sweep.query('COMMIT');
      const out = await claim;
      expect(out.lines).toEqual([expect.objectContaining({ claimed: 3, awaitingWms: 1 })]);
    } finally {
      sweep.release();
    }
  });

  it('a confirmation a workflow from before the change applies first takes over the ones the sweeper passed over', async () => {
    const sku = 'EARLY-OLD-RUN';
    await stock(sku, 3, at(9));
    await confirm('o-old-run', { allocationId: 'a-2', occurredAt: at(6), lines: [{ lineId: '2', sku, locationId: LOC, quantity: 1 }] });
    const out = await convertAllocation({ db: svc.db }, {
      shopId, orderId: 'o-old-run', workflowId: 'wf-o-old-run', origin: 'shopify',
      allocation: { allocationId: 'a-1', source: wms, occurredAt: at(5), lines: [{ lineId: '1', sku, locationId: LOC, quantity: 2 }] },
    });
    expect(out.lines.map((l) => [l.lineId, l.allocated])).toEqual([[claimLineId('1', LOC), 2], [claimLineId('2', LOC), 1]]);
    const unapplied = await svc.db.query(`SELECT 1 FROM wms_allocations WHERE shop_id = $1 AND order_id = 'o-old-run' AND applied_at IS NULL`, [shopId]);
    expect(unapplied.rowCount).toBe(0);
  });

  it('a claim after the sweeper passed a confirmation over takes it: the units the WMS total shows are converted', async () => {
    const sku = 'EARLY-DUE';
    // The WMS confirms 2 of the order, then reports a total that holds them; the order reaches us after both.
    await confirm('o-due', { allocationId: 'a-1', occurredAt: at(5), lines: [{ lineId: '1', sku, locationId: LOC, quantity: 2 }] });
    await stock(sku, 2, at(6));
    expect((await lookForOrders(svc.db, [{ shopId, orderId: 'o-due' }]))({ shopId, orderId: 'o-due' })).toBe('unseen');
    expect(await counted(sku)).toEqual({ openClaims: 0, wmsAllocated: 2 });
    const out = await applyClaims({ db: svc.db }, claimInput('o-due', sku, 3));
    expect(out.lines).toEqual([expect.objectContaining({ sku, claimed: 1, allocated: 2, awaitingWms: 0 })]);
    expect(out.changedKeys).toEqual([{ sku, locationId: LOC }]);
    // 3 units held by the order: 1 through its claim, 2 through the WMS total, none twice.
    expect(await counted(sku)).toEqual({ openClaims: 1, wmsAllocated: 2 });
    const applied = await svc.db.query(`SELECT converted FROM wms_allocations WHERE shop_id = $1 AND order_id = 'o-due' AND applied_at IS NOT NULL`, [shopId]);
    expect(applied.rows).toEqual([{ converted: 2 }]);
  });

  it('a confirmation the WMS total does not show yet stays claimed until it does', async () => {
    const sku = 'EARLY-LATER';
    await stock(sku, 0, at(1));
    await confirm('o-later', { allocationId: 'a-1', occurredAt: at(5), lines: [{ lineId: '1', sku, locationId: LOC, quantity: 2 }] });
    const out = await applyClaims({ db: svc.db }, claimInput('o-later', sku, 3));
    expect(out.lines).toEqual([expect.objectContaining({ claimed: 3, allocated: 0, awaitingWms: 2 })]);
    expect(await counted(sku)).toEqual({ openClaims: 3, wmsAllocated: 0 });
    // The total that includes them converts them (the snapshot trigger: the claim line now exists).
    await recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: 2, occurredAt: at(6) }]);
    expect(await counted(sku)).toEqual({ openClaims: 1, wmsAllocated: 2 });
  });

  it('a confirmed line the order does not have gets a line that claims nothing; one of another SKU is never applied', async () => {
    const sku = 'EARLY-REAL';
    await stock(sku, 0, at(1));
    await stock('EARLY-DECOY', 5, at(9));
    await confirm('o-mixed', {
      allocationId: 'a-1', occurredAt: at(5),
      lines: [{ lineId: '1', sku: 'EARLY-DECOY', locationId: LOC, quantity: 5 }, { lineId: '9', sku, locationId: LOC, quantity: 1 }],
    });
    const out = await applyClaims({ db: svc.db }, claimInput('o-mixed', sku, 2));
    expect(out.lines).toEqual([
      expect.objectContaining({ lineId: claimLineId('1', LOC), sku, claimed: 2, allocated: 0, awaitingWms: 0 }),
      expect.objectContaining({ lineId: claimLineId('9', LOC), sku, claimed: 0, allocated: 0, awaitingWms: 1 }),
    ]);
    const decoy = await svc.db.query(`SELECT applied_at FROM wms_allocations WHERE shop_id = $1 AND order_id = 'o-mixed' AND sku = 'EARLY-DECOY'`, [shopId]);
    expect(decoy.rows).toEqual([{ applied_at: null }]);
    expect(await counted('EARLY-DECOY')).toEqual({ openClaims: 0, wmsAllocated: 5 });
  });

  it('an order confirmed long ago that never came is listed for the alert; one that came is not', async () => {
    await confirm('o-never', { allocationId: 'a-1', occurredAt: at(5), lines: [{ lineId: '1', sku: 'NEVER', locationId: LOC, quantity: 4 }] });
    const later = new Date(Date.now() + 60_000);
    const listed = (await ordersNeverArrived(svc.db, later, 1000)).filter((o) => o.shopId === shopId);
    expect(listed.map((o) => o.orderId)).toContain('o-never');
    expect(listed.find((o) => o.orderId === 'o-never')).toMatchObject({ lines: 1, units: 4 });
    // Orders that came (their claim took the confirmations over) are not.
    expect(listed.map((o) => o.orderId)).not.toContain('o-later');
    expect(listed.map((o) => o.orderId)).not.toContain('o-mixed');
    expect((await ordersNeverArrived(svc.db, new Date(Date.now() - 60_000), 1000)).filter((o) => o.shopId === shopId)).toEqual([]);
    // Once alerted, an order is not listed again: each run gets on to the next ones.
    await svc.db.query(`INSERT INTO alerts (kind, shop_id, subject, details, dedupe_key) VALUES ('reservation_expired', $1, 'o-never', '{}', $2)`, [shopId, JSON.stringify(['reservation_expired', shopId, 'o-never'])]);
    expect((await ordersNeverArrived(svc.db, later, 1000)).filter((o) => o.shopId === shopId).map((o) => o.orderId)).not.toContain('o-never');
  });
});
