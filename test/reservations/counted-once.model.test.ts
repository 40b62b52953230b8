import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readComponents } from '../../src/sources/components.js';
import { convertAllocation, convertKnownOrderConfirmations, recordAllocation } from '../../src/db/claim-conversion.js';
import { applyClaims } from '../../src/db/claims.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { claimLineId } from '../../src/domain/reservation-model.js';
import { createSources } from '../../src/runtime/sources.js';
import { assertProperty } from '../support/property.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * Model: random interleavings of orders (place, edit, cancel, partial shipments of allocated units), WMS
 * allocations, their confirmations (delivered late, out of order, twice) and the WMS's allocated totals (delivered
 * late, stale). After every step, for the key: openClaims + wmsAllocated = units held by live orders and not
 * shipped. Each unit counted exactly once, never both, never
 * neither. The WMS contract the design relies on (docs/reservations.md): it never reports a total that includes
 * an allocation it has not confirmed to us yet; it does not allocate units of an order that is cancelled; and it
 * ships units it allocated, after their confirmation reached us.
 */
type Raw = { op: number; a: number; b: number; c: boolean };

const LOC = 'WH1';
const tick = (t: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + t * 1000).toISOString();

describe('each unit is counted exactly once in ATS at every step (model-based)', () => {
  let svc: TestServices;
  const shopId = `model-${Date.now().toString(36)}`;
  const config = testConfig({
    shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'X_TOKEN', webhook_secret_env: 'X_SECRET' }],
    sources: [
      { name: `${shopId}-erp`, role: 'erp', type: 'postgres' },
      { name: `${shopId}-wms`, role: 'wms', type: 'postgres' },
    ],
  });
  beforeAll(async () => {
    svc = await connectTestServices();
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('holds over random sequences of order events, allocations, confirmations and WMS totals', async () => {
    let run = 0;
    const raw = fc.record({ op: fc.nat(8), a: fc.nat(20), b: fc.nat(20), c: fc.boolean() });
    await assertProperty(
      'test/reservations/counted-once.model.test.ts',
      fc.asyncProperty(fc.array(raw, { minLength: 1, maxLength: 24 }), async (steps: Raw[]) => {
        const sku = `SKU-${++run}-${Math.random().toString(36).slice(2, 7)}`;
        const wms = `${shopId}-wms`;
        const deps = { db: svc.db };
        const sources = createSources(config, svc.db);
        await recordSourceChanges(svc.db, `${shopId}-erp`, [{ shopId, sku, locationId: LOC, quantity: 1000, occurredAt: tick(0) }]);
        await recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: 0, occurredAt: tick(0) }]);

        const orders: { id: string; qty: number; wmsAllocated: number; shipped: number; live: boolean; at: number }[] = [];
        const shipments: { n: number; t: number }[] = [];
        const allocations: { orderId: string; id: string; n: number; t: number; delivered: boolean }[] = [];
        let clock = 1;
        const log: string[] = [];
        let early = false;

        const counted = async () => {
          const c = (await readComponents({ db: svc.db, config, sources }, shopId, [{ sku, locationId: LOC }])).get(`${sku}|${LOC}`)!;
          if (c.status !== 'ok') throw new Error('no on-hand');
          return c.components.openClaims + c.components.wmsAllocated;
        };
        /**
         * The WMS confirms an allocation to us: the route records it, then the sweeper's confirmation lane converts it
         * in a batch (`viaLane`; an order with no claim line goes through convertAllocation), or the order's workflow
         * does (convertAllocation: a confirmation left to it, or the signal that follows the lane's conversion).
         */
        const confirm = (al: (typeof allocations)[number], viaLane: boolean) => confirmAll([al], viaLane);
        /** Several confirmations: through the lane, one batch of all of them (several orders); else one at a time. */
        const confirmAll = async (als: (typeof allocations)[number][], viaLane: boolean) => {
          const items = als.map((al) => {
            al.delivered = true;
            return { shopId, orderId: al.orderId, allocation: { allocationId: al.id, source: wms, occurredAt: tick(al.t), lines: [{ lineId: '1', sku, locationId: LOC, quantity: al.n }] } };
          });
          const oneByOne = (c: (typeof items)[number]) => convertAllocation(deps, { ...c, workflowId: `wf-${c.orderId}`, origin: 'shopify' });
          if (!viaLane) {
            for (const item of items) await oneByOne(item);
            return;
          }
          const out = await convertKnownOrderConfirmations(deps, items);
          for (const c of out.oneByOne) await oneByOne(c as (typeof items)[number]);
        };
        /** The WMS's allocated total as of t: allocated minus shipped. */
        const wmsTotal = (t: number) =>
          allocations.filter((x) => x.t <= t).reduce((sum, x) => sum + x.n, 0) - shipments.filter((x) => x.t <= t).reduce((sum, x) => sum + x.n, 0);
        const unshipped = () => orders.filter((o) => o.live).reduce((sum, o) => sum + o.qty - o.shipped, 0);
        const claim = (o: (typeof orders)[number], terminal?: 'cancelled') =>
          applyClaims(deps, {
            shopId,
            orderId: o.id,
            workflowId: `wf-${o.id}`,
            origin: 'shopify',
            // What the order's fulfillment orders say: remaining units, and how many already shipped.
            lines: [{ lineId: claimLineId('1', LOC), sku, locationId: LOC, quantity: o.qty - o.shipped, fulfilled: o.shipped }],
            lastEventAt: tick(o.at),
            expiresAt: null,
            ...(terminal ? { terminal } : {}),
          });

        for (const s of steps) {
          const live = orders.filter((o) => o.live);
          switch (s.op) {
            case 0: {
              const o = { id: `${sku}-o${orders.length}`, qty: 1 + (s.a % 3), wmsAllocated: 0, shipped: 0, live: true, at: clock };
              orders.push(o);
              await claim(o);
              log.push(`place ${o.id} x${o.qty}`);
              break;
            }
            case 1: {
              const o = live[s.a % Math.max(1, live.length)];
              if (!o) break;
              o.qty = Math.max(o.wmsAllocated, 1 + (s.b % 4));
              await claim(o);
              log.push(`edit ${o.id} -> ${o.qty}`);
              break;
            }
            case 2: {
              const cancellable = live.filter((x) => x.wmsAllocated === 0);
              const o = cancellable[s.a % Math.max(1, cancellable.length)];
              if (!o) break;
              o.live = false;
              await claim(o, 'cancelled');
              log.push(`cancel ${o.id}`);
              break;
            }
            case 3: {
              const o = live[s.a % Math.max(1, live.length)];
              if (!o || o.qty === o.wmsAllocated) break;
              const n = 1 + (s.b % (o.qty - o.wmsAllocated));
              o.wmsAllocated += n;
              allocations.push({ orderId: o.id, id: `al-${allocations.length}`, n, t: ++clock, delivered: false });
              log.push(`wms allocates ${n} of ${o.id} at t${clock}`);
              break;
            }
            case 4: {
              const al = allocations[s.a % Math.max(1, allocations.length)];
              if (!al) break;
              const times = s.c ? 2 : 1;
              const via = Array.from({ length: times }, (_, i) => (s.b + i) % 2 === 0);
              for (const viaLane of via) await confirm(al, viaLane);
              log.push(`confirm ${al.id} (${via.map((v) => (v ? 'lane' : 'workflow')).join(', then ')})`);
              break;
            }
            case 5: {
              const undelivered = allocations.filter((x) => !x.delivered).map((x) => x.t);
              // c: the WMS breaks its contract and reports ahead of its confirmations (checked at quiescence only).
              if (s.c && undelivered.length > 0) early = true;
              const newest = s.c ? clock : Math.min(clock, ...undelivered.map((t) => t - 1));
              const r = Math.max(0, newest - (s.b % 3));
              const total = wmsTotal(r);
              await recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: total, occurredAt: tick(r) }]);
              log.push(`wms total ${total} as of t${r}`);
              break;
            }
            case 6: {
              // The WMS ships some allocated units: its total drops, and Shopify's fulfillment orders show them
              // shipped. Either report may reach us first; checked after both. Confirmations precede shipping.
              const shippable = live.filter((x) => x.wmsAllocated > x.shipped);
              const o = shippable[s.a % Math.max(1, shippable.length)];
              if (!o) break;
              await confirmAll(allocations.filter((x) => !x.delivered), s.c);
              const n = 1 + (s.b % (o.wmsAllocated - o.shipped));
              o.shipped += n;
              shipments.push({ n, t: ++clock });
              const steps = [
                () => recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: wmsTotal(clock), occurredAt: tick(clock) }]),
                () => claim(o),
              ];
              for (const step of s.c ? steps.reverse() : steps) await step();
              log.push(`ship ${n} of ${o.id} at t${clock}${s.c ? ' (fulfilment first)' : ''}`);
              break;
            }
            case 7: {
              // At the same moment: the WMS's confirmation of an allocation reaches the order's workflow (a
              // conversion), the WMS's total as of just before that allocation arrives (the snapshot trigger), and
              // the order's claim is applied again (an edit to the same quantity): the three writers that share
              // the key's rows, interleaved by PostgreSQL rather than by the test.
              const pendingAllocations = allocations.filter((x) => !x.delivered);
              const al = pendingAllocations[s.a % Math.max(1, pendingAllocations.length)];
              if (!al) break;
              const o = orders.find((x) => x.id === al.orderId)!;
              const before = Math.max(0, Math.min(...pendingAllocations.map((x) => x.t)) - 1);
              await Promise.all([
                confirm(al, s.c),
                recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: wmsTotal(before), occurredAt: tick(before) }]),
                ...(o.live ? [claim(o)] : []),
              ]);
              log.push(`concurrently: confirm ${al.id}${s.c ? ' (lane)' : ''}, wms total as of t${before}${o.live ? `, claim ${o.id} again` : ''}`);
              break;
            }
            case 8: {
              // The WMS confirms an allocation of an order before the order reaches us: the route records it and
              // starts no workflow (src/db/early-confirmations.ts); c: its total including them comes first too.
              // Then the order's first claim takes the confirmation over.
              const o = { id: `${sku}-o${orders.length}`, qty: 1 + (s.a % 3), wmsAllocated: 0, shipped: 0, live: true, at: clock };
              const n = 1 + (s.b % o.qty);
              o.wmsAllocated = n;
              orders.push(o);
              const al = { orderId: o.id, id: `al-${allocations.length}`, n, t: ++clock, delivered: true };
              allocations.push(al);
              await recordAllocation(svc.db, shopId, o.id, { allocationId: al.id, source: wms, occurredAt: tick(al.t), lines: [{ lineId: '1', sku, locationId: LOC, quantity: n }] });
              const undelivered = allocations.filter((x) => !x.delivered).map((x) => x.t);
              if (s.c) {
                const r = Math.min(clock, ...undelivered.map((t) => t - 1));
                await recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: wmsTotal(r), occurredAt: tick(r) }]);
              }
              await claim(o);
              log.push(`wms confirms ${n} of ${o.id} at t${clock} before the order${s.c ? ', its total too' : ''}; then the order x${o.qty}`);
              break;
            }
          }
          if (early && allocations.some((x) => !x.delivered)) continue;
          early = false;
          const expected = unshipped();
          const got = await counted();
          if (got !== expected) throw new Error(`counted ${got}, live units ${expected}\n${log.join('\n')}`);
        }
        // Quiescence: every confirmation delivered, the WMS's latest total reported: exactly once again.
        await confirmAll(allocations.filter((x) => !x.delivered), run % 2 === 0);
        const expected = unshipped();
        expect(await counted(), `after the late confirmations\n${log.join('\n')}`).toBe(expected);
        await recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: wmsTotal(clock + 1), occurredAt: tick(clock + 1) }]);
        expect(await counted(), `after the latest WMS total\n${log.join('\n')}`).toBe(expected);
      }),
      { numRuns: 80 },
    );
    expect(run).toBeGreaterThanOrEqual(80);
  });

  it('a WMS total arriving while a confirmation converts waits for it, and the units are counted once, not twice', async () => {
    const sku = `RACE-${Math.random().toString(36).slice(2, 7)}`;
    const wms = `${shopId}-wms`;
    const sources = createSources(config, svc.db);
    await recordSourceChanges(svc.db, `${shopId}-erp`, [{ shopId, sku, locationId: LOC, quantity: 100, occurredAt: tick(0) }]);
    await recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: 0, occurredAt: tick(0) }]);
    const orderId = `${sku}-o`;
    await applyClaims({ db: svc.db }, { shopId, orderId, workflowId: `wf-${orderId}`, origin: 'shopify', lines: [{ lineId: claimLineId('1', LOC), sku, locationId: LOC, quantity: 2 }], lastEventAt: tick(1), expiresAt: null });
    const counted = async () => {
      const c = (await readComponents({ db: svc.db, config, sources }, shopId, [{ sku, locationId: LOC }])).get(`${sku}|${LOC}`)!;
      if (c.status !== 'ok') throw new Error('no on-hand');
      return c.components.openClaims + c.components.wmsAllocated;
    };

    // The confirmation of the order's 2 units (allocated at t2) has locked the key's snapshot row, which still
    // says 0, when the WMS's total as of t2 (those 2 units) arrives.
    let reached!: () => void;
    const locked = new Promise<void>((resolve) => (reached = resolve));
    let go!: () => void;
    const released = new Promise<void>((resolve) => (go = resolve));
    const conversion = convertAllocation(
      { db: svc.db, conversionRacePoints: { afterSnapshotLocked: async () => (reached(), await released) } },
      { shopId, orderId, workflowId: `wf-${orderId}`, origin: 'shopify', allocation: { allocationId: 'a-1', source: wms, occurredAt: tick(2), lines: [{ lineId: '1', sku, locationId: LOC, quantity: 2 }] } },
    );
    await locked;
    const total = recordSourceChanges(svc.db, wms, [{ shopId, sku, locationId: LOC, quantity: 2, occurredAt: tick(2) }]);
    let totalDone = false;
    void total.finally(() => (totalDone = true));
    // The total either waits on the conversion's row lock (a backend blocked by the conversion's, which sits idle in
    // its transaction after its snapshot FOR UPDATE), or it went through. Other files' waits do not count.
    while (!totalDone) {
      const { rows } = await svc.db.query(
        `SELECT 1 FROM pg_stat_activity w, pg_stat_activity h
          WHERE h.state = 'idle in transaction' AND h.query LIKE '%FOR UPDATE OF s' AND h.pid = ANY(pg_blocking_pids(w.pid))`,
      );
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    go();
    await conversion;
    await total;
    expect(await counted()).toBe(2);
  });
});

