import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowTypes } from '../../src/temporal/handoff.js';
import { applyClaims } from '../../src/db/claims.js';
import { recordReservationHandoffs } from '../../src/db/handoffs.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { ALLOCATION_SIGNAL, claimLineId, type AllocationEvent } from '../../src/domain/reservation-model.js';
import { createHandoffSweeper } from '../../src/starters/http/handoffs.js';
import { createLogger } from '../../src/observability/logger.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

// The two ingest outboxes drain side by side. Order signals reach Temporal one signal-with-start at a time (tens
// a second on a dev server); a refresh key committed meanwhile must not wait for that drain to end. The order
// lane is held inside its Temporal call (a real client whose signal-with-start for order workflows waits on a
// latch), so the refresh kick can only be served if the lanes are independent.
describe('the hand-off sweeper', () => {
  let svc: TestServices;
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => {
    await svc?.close();
  });

  /** A real client whose signal-with-start for order workflows waits until `release()`. */
  const heldOrderLane = () => {
    const temporal = new Client({ connection: svc.temporal.connection });
    const original = temporal.workflow.signalWithStart.bind(temporal.workflow);
    let release!: () => void;
    const latch = new Promise<void>((r) => (release = r));
    const held = { temporal, release, orderCalls: 0 };
    temporal.workflow.signalWithStart = (async (type: string, opts: never) => {
      if (type === workflowTypes.reservation) {
        held.orderCalls++;
        await latch;
      }
      return original(type as never, opts);
    }) as typeof temporal.workflow.signalWithStart;
    return held;
  };

  it('hands refresh keys off while an order hand-off is still waiting on Temporal', async () => {
    const shopId = svc.uid('lanes');
    const taskQueue = `lanes-${randomUUID()}`; // no worker: the workflows are started and signalled, never run
    const config = testConfig({ shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'UNUSED_TOKEN', webhook_secret_env: 'UNUSED_SECRET' }] });
    const held = heldOrderLane();
    const { temporal, release } = held;

    const orderId = `o-${randomUUID().slice(0, 8)}`;
    await svc.db.query(`INSERT INTO reservation_handoffs (shop_id, order_id, signal, payload) VALUES ($1, $2, 'orderEvent', $3)`, [
      shopId,
      orderId,
      JSON.stringify({ eventId: 'lanes-1', kind: 'cancelled' }),
    ]);
    await svc.db.query(`INSERT INTO refresh_handoffs (shop_id, sku, location_id, trigger) VALUES ($1, 'LANE', 'WH1', 'lanes-test')`, [shopId]);
    const count = async (table: string) => (await svc.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE shop_id = $1`, [shopId])).rows[0]!.n;

    const sweeper = createHandoffSweeper({ db: svc.db, temporal, taskQueue, config, logger: createLogger('silent') });
    try {
      sweeper.kick('reservation');
      await expect.poll(() => held.orderCalls, { timeout: 10_000 }).toBe(1);
      sweeper.kick('refresh');
      await expect.poll(() => count('refresh_handoffs'), { timeout: 10_000 }).toBe(0);
      const refresh = await svc.temporal.workflow.getHandle(`refresh:${shopId}`).describe();
      expect(refresh.type).toBe(workflowTypes.shopRefresh);
      // The order's row is still claimed by the held drain.
      expect(await count('reservation_handoffs')).toBe(1);
    } finally {
      release();
      await sweeper.stop();
    }
    expect(await count('reservation_handoffs')).toBe(0);
    for (const id of [`refresh:${shopId}`, `reservation:${shopId}:${orderId}`]) await svc.temporal.workflow.getHandle(id).terminate('test done').catch(() => undefined);
  });

  // A WMS confirmation of a known order is counted right (converted, its key handed to the refresh) while the order
  // lane is held inside Temporal: the burst of confirmations a WMS sends no longer waits for signals.
  it("converts a known order's confirmation and refreshes its key while the order lane is held", async () => {
    const shopId = svc.uid('lanes-conf');
    const wms = `${shopId}-wms`;
    const taskQueue = `lanes-${randomUUID()}`;
    const config = testConfig({
      shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'UNUSED_TOKEN', webhook_secret_env: 'UNUSED_SECRET' }],
      sources: [{ name: wms, role: 'wms', type: 'postgres' }],
    });
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shopId, `${shopId}.myshopify.com`]);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    await applyClaims({ db: svc.db }, {
      shopId, orderId: 'o-known', workflowId: `reservation:${shopId}:o-known`, origin: 'shopify', lastEventAt: at(1), expiresAt: null,
      lines: [{ lineId: claimLineId('1', 'WH1'), sku: 'CONF-1', locationId: 'WH1', quantity: 2 }],
    });
    await recordSourceChanges(svc.db, wms, [{ shopId, sku: 'CONF-1', locationId: 'WH1', quantity: 2, occurredAt: at(6) }]);
    // Another order's event holds the order lane inside Temporal.
    await svc.db.query(`INSERT INTO reservation_handoffs (shop_id, order_id, signal, payload) VALUES ($1, 'o-other', 'orderEvent', $2)`, [
      shopId,
      JSON.stringify({ eventId: 'lanes-2', kind: 'cancelled' }),
    ]);
    const held = heldOrderLane();
    const sweeper = createHandoffSweeper({ db: svc.db, temporal: held.temporal, taskQueue, config, logger: createLogger('silent') });
    const allocated = async () => (await svc.db.query<{ allocated: number }>(`SELECT allocated FROM claim_lines WHERE shop_id = $1 AND order_id = 'o-known'`, [shopId])).rows[0]!.allocated;
    const count = async (table: string) => (await svc.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE shop_id = $1`, [shopId])).rows[0]!.n;
    try {
      sweeper.kick('reservation');
      await expect.poll(() => held.orderCalls, { timeout: 10_000 }).toBe(1);
      const event: AllocationEvent = { allocationId: 'a-1', source: wms, occurredAt: at(5), lines: [{ lineId: '1', sku: 'CONF-1', locationId: 'WH1', quantity: 2 }] };
      await recordReservationHandoffs(svc.db, [{ handoff: { shopId, orderId: 'o-known', signal: ALLOCATION_SIGNAL, payload: event }, allocation: event }]);
      sweeper.kick('confirmation');
      await expect.poll(allocated, { timeout: 10_000 }).toBe(2);
      // Marked converted (its key queued in the same statement), then the key went through the refresh outbox to the
      // shop's refresh workflow.
      const converted = async () => (await svc.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservation_handoffs WHERE shop_id = $1 AND converted_at IS NOT NULL`, [shopId])).rows[0]!.n;
      await expect.poll(converted, { timeout: 10_000 }).toBe(1);
      await expect.poll(() => count('refresh_handoffs'), { timeout: 10_000 }).toBe(0);
      expect((await svc.temporal.workflow.getHandle(`refresh:${shopId}`).describe()).type).toBe(workflowTypes.shopRefresh);
      // The order lane is still held on its first call: both rows wait for it.
      expect(held.orderCalls).toBe(1);
      expect(await count('reservation_handoffs')).toBe(2);
    } finally {
      held.release();
    }
    // Released, the lane signals the held event, then the converted confirmation.
    await expect.poll(() => count('reservation_handoffs'), { timeout: 15_000 }).toBe(0);
    await sweeper.stop();
    expect(held.orderCalls).toBe(2);
    for (const id of [`refresh:${shopId}`, `reservation:${shopId}:o-other`, `reservation:${shopId}:o-known`]) await svc.temporal.workflow.getHandle(id).terminate('test done').catch(() => undefined);
  });
});
