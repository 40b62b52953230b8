import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { storeOutOfReach } from '../../src/starters/http/errors.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { startRig, type Rig } from '../reservations/rig.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

/**
 * Found by bench/chaos: while its PostgreSQL restarted, every route answered 500 ISYNC_INTERNAL ("internal error")
 * to a refused or cut connection. A store out of reach is a 503 ISYNC_DEPENDENCY_UNAVAILABLE the caller retries.
 */
describe('PostgreSQL out of reach during a request', () => {
  let rig: Rig;
  let app: FastifyInstance;
  let url: string;
  let deadDb: pg.Pool;

  beforeAll(async () => {
    rig = await startRig({ onHand: 5, skus: ['DOWN-1'], webhooks: false, worker: false });
    // A real pool to a port nothing listens on: every query is refused, as during a restart.
    deadDb = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/inventory_sync`, 2);
    app = buildHttpServer({ db: deadDb, redis: rig.svc.redis, config: rig.config, temporal: rig.svc.temporal, taskQueue: rig.svc.taskQueue, metrics: createMetrics(), logger: pino({ level: 'silent' }), env: rig.env });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await deadDb?.end();
    await rig?.close();
  });

  const post = (path: string, body: unknown, token: string) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

  it('a WMS confirmation, a source event and an order are answered 503 ISYNC_DEPENDENCY_UNAVAILABLE, not 500', async () => {
    const occurredAt = new Date().toISOString();
    const wms = await post('/wms/allocations', { shopId: rig.shopId, orderId: '77', allocationId: 'a-77', occurredAt, lines: [{ lineId: 'l1', sku: 'DOWN-1', locationId: 'WH1', quantity: 1 }] }, rig.wmsToken);
    expect(wms.status).toBe(503);
    expect(await wms.json()).toMatchObject({ code: 'ISYNC_DEPENDENCY_UNAVAILABLE', message: expect.stringContaining('retry the request') });
    const source = await post(`/sources/${rig.config.sources.find((s) => s.role === 'erp')!.name}/events`, { events: [{ shopId: rig.shopId, sku: 'DOWN-1', locationId: 'WH1', quantity: 3, occurredAt }] }, rig.erpToken);
    expect(source.status).toBe(503);
    expect(((await source.json()) as { code: string }).code).toBe('ISYNC_DEPENDENCY_UNAVAILABLE');
    // An order is answered only once recorded (its hand-off waits in PostgreSQL): no PostgreSQL, no 202.
    const order = await post('/orders', { shopId: rig.shopId, orderId: 'o-77', updatedAt: occurredAt, lines: [{ lineId: 'l1', sku: 'DOWN-1', locationId: 'WH1', quantity: 1 }] }, rig.orderToken);
    expect(order.status).toBe(503);
    expect(((await order.json()) as { code: string }).code).toBe('ISYNC_DEPENDENCY_UNAVAILABLE');
  });

  it('a connection terminated by the server (57P01) counts as out of reach; a constraint violation does not', async () => {
    const victim = new pg.Client({ connectionString: inject('databaseUrl') });
    victim.on('error', () => undefined);
    await victim.connect();
    const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const sleeping = victim.query('SELECT pg_sleep(30)').then(
      () => undefined,
      (e: Error) => e,
    );
    // Terminate it once it is seen running the sleep (pg_stat_activity), not after a guessed delay.
    for (;;) {
      const { rows: active } = await rig.svc.db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`, [rows[0]!.pid]);
      if (active.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await rig.svc.db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    const terminated = await sleeping;
    expect((terminated as { code?: string }).code).toBe('57P01');
    expect(storeOutOfReach(terminated!)).toBe(true);
    await victim.end().catch(() => undefined);

    const duplicate = await rig.svc.db.query(`SELECT * FROM (VALUES (1)) v(x) WHERE 1/0 = 1`).then(
      () => undefined,
      (e: Error) => e,
    );
    expect((duplicate as { code?: string }).code).toBe('22012');
    expect(storeOutOfReach(duplicate!)).toBe(false);
  });
});
