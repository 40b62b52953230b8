import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowTypes } from '../../src/temporal/handoff.js';
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

  it('hands refresh keys off while an order hand-off is still waiting on Temporal', async () => {
    const shopId = svc.uid('lanes');
    const taskQueue = `lanes-${randomUUID()}`; // no worker: the workflows are started and signalled, never run
    const config = testConfig({ shops: [{ id: shopId, domain: `${shopId}.myshopify.com`, access_token_env: 'UNUSED_TOKEN', webhook_secret_env: 'UNUSED_SECRET' }] });

    const temporal = new Client({ connection: svc.temporal.connection });
    const original = temporal.workflow.signalWithStart.bind(temporal.workflow);
    let release!: () => void;
    const latch = new Promise<void>((r) => (release = r));
    let orderCalls = 0;
    temporal.workflow.signalWithStart = (async (type: string, opts: never) => {
      if (type === workflowTypes.reservation) {
        orderCalls++;
        await latch;
      }
      return original(type as never, opts);
    }) as typeof temporal.workflow.signalWithStart;

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
      await expect.poll(() => orderCalls, { timeout: 10_000 }).toBe(1);
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
});
