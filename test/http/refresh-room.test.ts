import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainHandoffs } from '../../src/starters/http/handoffs.js';
import { createRefreshRoomGate } from '../../src/starters/http/refresh-room.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * A refresh run continues as new only with at most 5,000 pending keys; keys handed over faster than Shopify takes
 * them kept it above that until Temporal's history limit terminated the run with every pending key. The sweeper
 * now holds a shop's keys in the outbox while its refresh has a large backlog (src/starters/http/refresh-room.ts).
 * The backlog is the workflow's `pending` query in production; here the test says it.
 */
describe('refresh room: the outbox holds a shop\'s keys while its refresh has a large backlog', () => {
  it('holds a shop past the high-water mark until it is down to the low one, and asks only shops it handed keys to', async () => {
    let clock = 0;
    const pending = new Map<string, number>();
    const asked: string[] = [];
    const changes: string[] = [];
    const gate = createRefreshRoomGate({
      highWater: 20_000,
      lowWater: 5_000,
      recheckMs: 1000,
      now: () => clock,
      pendingOf: async (shopId) => {
        asked.push(shopId);
        if (!pending.has(shopId)) throw new Error('no answer');
        return pending.get(shopId)!;
      },
      onChange: (c) => void changes.push(`${c.shopId} ${c.held ? 'held' : 'open'} ${c.pending}`),
    });
    expect(await gate.open(['A', 'B'])).toEqual(['A', 'B']);
    expect(asked).toEqual([]); // nothing handed yet: nobody is asked
    gate.handed('A', 12_000);
    gate.handed('A', 9_000); // 21,000 counted before the next look
    expect(changes).toEqual(['A held 21000']);
    expect(await gate.open(['A', 'B'])).toEqual(['B']);
    clock += 1000;
    pending.set('A', 10_000); // drained a little: still above the low-water mark
    expect(await gate.open(['A', 'B'])).toEqual(['B']);
    clock += 1000;
    pending.delete('A'); // the query fails: the estimate stands
    expect(await gate.open(['A', 'B'])).toEqual(['B']);
    clock += 1000;
    pending.set('A', 4_000);
    expect(await gate.open(['A', 'B'])).toEqual(['A', 'B']);
    expect(changes).toEqual(['A held 21000', 'A open 4000']);
    expect(asked).toEqual(['A', 'A', 'A']);
  });

  it('a pass does not wait for a slow answer: it goes on with the estimate, asks once, and takes the answer when it comes', async () => {
    let clock = 0;
    const asked: string[] = [];
    let answer: (pending: number) => void = () => undefined;
    const gate = createRefreshRoomGate({
      highWater: 20_000,
      lowWater: 5_000,
      recheckMs: 1000,
      quickMs: 20,
      now: () => clock,
      pendingOf: (shopId) => {
        asked.push(shopId);
        return new Promise<number>((resolve) => (answer = resolve)); // a worker too busy to answer yet
      },
    });
    gate.handed('A', 21_000); // held on the count
    clock += 1000;
    const started = performance.now();
    expect(await gate.open(['A'])).toEqual([]); // the estimate holds it; the pass did not wait for the answer
    expect(performance.now() - started).toBeLessThan(1000);
    clock += 1000;
    expect(await gate.open(['A'])).toEqual([]);
    expect(asked).toEqual(['A']); // still in flight: not asked twice
    answer(3_000);
    await new Promise((r) => setImmediate(r));
    expect(await gate.open(['A'])).toEqual(['A']); // the answer came: below the low-water mark
    expect(asked).toEqual(['A']);
  });

  describe('in the sweeper', () => {
    let svc: TestServices;
    beforeAll(async () => {
      svc = await connectTestServices();
    });
    afterAll(async () => {
      await svc?.close();
    });

    it('leaves a held shop\'s rows in the outbox, hands the other shop\'s, and the held ones once there is room', async () => {
      const [busy, calm] = [svc.uid('busy'), svc.uid('calm')];
      const config = testConfig({ shops: [busy, calm].map((id) => ({ id, domain: `${id}.myshopify.com`, access_token_env: 'UNUSED_TOKEN', webhook_secret_env: 'UNUSED_SECRET' })) });
      const taskQueue = `room-${randomUUID()}`; // no worker: the refresh workflows are started and signalled, never run
      for (const shopId of [busy, calm]) await svc.db.query(`INSERT INTO refresh_handoffs (shop_id, sku, location_id, trigger) VALUES ($1, 'ROOM', 'WH1', 'room-test')`, [shopId]);
      const count = async (shopId: string) => (await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM refresh_handoffs WHERE shop_id = $1', [shopId])).rows[0]!.n;
      let clock = 0;
      let busyPending = 30_000;
      const room = createRefreshRoomGate({ now: () => clock, pendingOf: async (shopId) => (shopId === busy ? busyPending : 0) });
      room.handed(busy, 30_000);
      const deps = { db: svc.db, temporal: svc.temporal, taskQueue, config, room };
      try {
        expect(await drainHandoffs(deps)).toMatchObject({ refresh: 1, failed: false });
        expect(await count(calm)).toBe(0);
        expect(await count(busy)).toBe(1);
        clock += 1000;
        busyPending = 0;
        expect(await drainHandoffs(deps)).toMatchObject({ refresh: 1, failed: false });
        expect(await count(busy)).toBe(0);
      } finally {
        for (const shopId of [busy, calm]) await svc.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('test done').catch(() => undefined);
      }
    });
  });
});
