import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { startRig, withUnboundShop, type Rig } from '../reservations/rig.js';

const SKU = 'VAL-1';
const WH = 'WH1';
const OTHER = 'other-shop';
const poll = { timeout: 20_000, interval: 100 };

/**
 * Values a caller with a valid token can send that PostgreSQL would refuse, or that would pin state forever: every
 * one is refused at the edge with a 400 naming the field, or stored in a form PostgreSQL takes.
 */
describe('values at the edge', () => {
  let rig: Rig;
  const servers: FastifyInstance[] = [];
  beforeAll(async () => {
    rig = await startRig({
      onHand: 10,
      skus: [SKU],
      webhooks: false,
      configure: withUnboundShop(OTHER),
    });
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await rig?.close();
  });

  const now = () => new Date().toISOString();
  const line = (quantity = 1, sku = SKU) => ({ lineId: 'l1', sku, locationId: WH, quantity });
  const postEvents = (body: unknown, url = rig.url, token = rig.erpToken) =>
    fetch(`${url}/sources/${rig.shopId}-erp/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const event = (extra: Record<string, unknown> = {}) => ({ shopId: rig.shopId, sku: SKU, locationId: WH, quantity: 5, occurredAt: now(), ...extra });
  /** The instant `utcMs` (whole seconds) written as local time at `offset` (`+20:00`), with `fraction` digits. */
  const atOffset = (utcMs: number, offset: string, fraction = '') => {
    const minutes = (offset.startsWith('-') ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
    return `${new Date(utcMs + minutes * 60_000).toISOString().slice(0, 19)}${fraction}${offset}`;
  };
  const wholeSecondsAgo = (seconds: number) => Math.floor(Date.now() / 1000) * 1000 - seconds * 1000;
  async function expectRefused(res: Response, field: string, message: string | RegExp) {
    const body = (await res.json()) as { code: string; message: string; details: { field: string } };
    expect(res.status, `${field}: ${body.message}`).toBe(400);
    expect(body).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field } });
    if (typeof message === 'string') expect(body.message).toContain(message);
    else expect(body.message).toMatch(message);
  }

  describe('timestamps are stored as UTC, in PostgreSQL\'s range', () => {
    it('POST /orders with an updatedAt at +20:00 (PostgreSQL takes offsets to ±15:59) is claimed, not retried forever', async () => {
      const at = wholeSecondsAgo(60);
      const res = await rig.postOrder({ shopId: rig.shopId, orderId: 'tz-plus-20', updatedAt: atOffset(at, '+20:00'), lines: [line(2)] });
      expect(res.status).toBe(202);
      await expect.poll(async () => (await rig.claimLines(rig.ext('tz-plus-20'))).map((l) => l.claimed), poll).toEqual([2]);
    });

    it('POST /sources/:source/events with an occurredAt at +20:00 is recorded at its instant, to the microsecond', async () => {
      const at = wholeSecondsAgo(30);
      const res = await postEvents({ events: [event({ sku: 'TZ-EVENT', occurredAt: atOffset(at, '+20:00', '.123456789') })] });
      expect(res.status).toBe(202);
      const { rows } = await rig.svc.db.query<{ at: string }>(
        `SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at FROM source_changes WHERE source = $1 AND sku = 'TZ-EVENT'`,
        [`${rig.shopId}-erp`],
      );
      expect(rows.map((r) => r.at)).toEqual([`${new Date(at).toISOString().slice(0, 19)}.123456`]);
    });

    it('POST /wms/allocations with an occurredAt at -18:30 is recorded at its instant', async () => {
      const at = wholeSecondsAgo(45);
      const res = await rig.postWms({ shopId: rig.shopId, orderId: 'tz-wms', allocationId: 'tz-wms-a', occurredAt: atOffset(at, '-18:30'), lines: [line(1)] });
      expect(res.status).toBe(202);
      const { rows } = await rig.svc.db.query<{ at: Date }>('SELECT occurred_at AS at FROM wms_allocations WHERE shop_id = $1 AND allocation_id = $2', [rig.shopId, 'tz-wms-a']);
      expect(rows.map((r) => r.at.getTime())).toEqual([at]);
    });

    it('an instant before year 1 in UTC is a 400 naming the field', async () => {
      await expectRefused(await rig.postOrder({ shopId: rig.shopId, orderId: 'tz-early', updatedAt: '0001-01-01T00:00:00+01:00', lines: [line()] }), 'updatedAt', 'from 0001-01-01T00:00:00Z');
      await expectRefused(await postEvents({ events: [event({ occurredAt: '0000-06-01T00:00:00Z' })] }), 'events.0.occurredAt', /0001|year/);
    });
  });

  describe('strings must be well-formed UTF-16 (PostgreSQL refuses a lone surrogate in jsonb)', () => {
    it('POST /orders: a lone surrogate in the order id or a SKU is a 400 naming the field', async () => {
      await expectRefused(await rig.postOrder({ shopId: rig.shopId, orderId: 'o-\ud800', updatedAt: now(), lines: [line()] }), 'orderId', 'lone surrogate');
      await expectRefused(await rig.postOrder({ shopId: rig.shopId, orderId: 'o-sur', updatedAt: now(), lines: [line(1, 'S-\udc00')] }), 'lines.0.sku', 'lone surrogate');
      await expectRefused(await rig.postOrder({ shopId: `${rig.shopId}\ud800`, orderId: 'o-sur', updatedAt: now(), lines: [line()] }), 'shopId', 'lone surrogate');
    });

    it('POST /sources/:source/events: a lone surrogate in a SKU, location or event id is a 400 naming the field, and nothing is recorded', async () => {
      await expectRefused(await postEvents({ events: [event({ sku: 'SUR-OK' }), event({ sku: 'SUR-\ud800' })] }), 'events.1.sku', 'lone surrogate');
      await expectRefused(await postEvents({ events: [event({ sku: 'SUR-OK', locationId: 'WH-\udfff' })] }), 'events.0.locationId', 'lone surrogate');
      await expectRefused(await postEvents({ events: [event({ sku: 'SUR-OK', eventId: '\ud800x' })] }), 'events.0.eventId', 'lone surrogate');
      const { rows } = await rig.svc.db.query('SELECT count(*)::int AS n FROM source_changes WHERE source = $1 AND sku LIKE $2', [`${rig.shopId}-erp`, 'SUR-%']);
      expect(rows[0].n).toBe(0);
    });

    it('POST /wms/allocations: a lone surrogate in the allocation id is a 400 naming the field', async () => {
      await expectRefused(await rig.postWms({ shopId: rig.shopId, orderId: 'o', allocationId: 'a-\ud800', occurredAt: now(), lines: [line()] }), 'allocationId', 'lone surrogate');
    });

    it('a surrogate pair (an emoji) is well-formed and accepted', async () => {
      const res = await postEvents({ events: [event({ sku: 'SKU-\u{1F642}' })] });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ unmapped: [{ sku: 'SKU-\u{1F642}' }] });
    });
  });

  describe('a location code cannot hold "|", which separates SKU and location in our keys', () => {
    it('POST /sources/:source/events, /orders and /wms/allocations refuse it naming the field; a SKU may hold one', async () => {
      await expectRefused(await postEvents({ events: [event({ sku: 'SEP-OK', locationId: 'B|C' })] }), 'events.0.locationId', 'expected no "|" in a location code');
      await expectRefused(await rig.postOrder({ shopId: rig.shopId, orderId: 'o-sep', updatedAt: now(), lines: [{ ...line(), locationId: 'WH|1' }] }), 'lines.0.locationId', 'expected no "|"');
      await expectRefused(await rig.postWms({ shopId: rig.shopId, orderId: 'o-sep', allocationId: 'a-sep', occurredAt: now(), lines: [{ ...line(), locationId: 'WH|1' }] }), 'lines.0.locationId', 'expected no "|"');
      const res = await postEvents({ events: [event({ sku: 'SEP|SKU' })] });
      expect(res.status).toBe(202);
    });
  });

  describe('an order\'s lines are each sent once, and name no claim line but their own', () => {
    it('a repeated line, or "@" in a line id or location, is a 400 naming it (a line could be claimed under a SKU it was not sent with)', async () => {
      const twice = [line(1, SKU), { ...line(2, 'OTHER-SKU') }];
      await expectRefused(await rig.postOrder({ shopId: rig.shopId, orderId: 'o-twice', updatedAt: now(), lines: twice }), 'lines.1.lineId', 'line "l1" at location "WH1" is also lines.0: send each line once, with its whole quantity');
      await expectRefused(await rig.postWms({ shopId: rig.shopId, orderId: 'o-twice', allocationId: 'a-twice', occurredAt: now(), lines: twice }), 'lines.1.lineId', 'is also lines.0');
      await expectRefused(await rig.postOrder({ shopId: rig.shopId, orderId: 'o-at', updatedAt: now(), lines: [{ ...line(), lineId: 'a@b' }] }), 'lines.0.lineId', 'expected a line id without "@"');
      await expectRefused(await rig.postWms({ shopId: rig.shopId, orderId: 'o-at', allocationId: 'a-at', occurredAt: now(), lines: [{ ...line(), locationId: 'b@c' }] }), 'lines.0.locationId', 'expected a location code without "@"');
      // The same line at two locations is two lines.
      expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'o-split', updatedAt: now(), lines: [line(1), { ...line(1), locationId: 'WH2' }] })).status).toBe(202);
    });

    it('a WMS confirmation names a channel\'s order by its channel, not by our internal id', async () => {
      await expectRefused(await rig.postWms({ shopId: rig.shopId, orderId: 'ext:ghost:1', allocationId: 'a-ext', occurredAt: now(), lines: [line()] }), 'orderId', 'send the channel\'s own order id with "channel"');
    });
  });

  describe('no route takes a date beyond the clock-skew allowance', () => {
    it('POST /wms/allocations dated 9999-12-31 is a 400 naming occurredAt and the bound; nothing is recorded', async () => {
      await expectRefused(
        await rig.postWms({ shopId: rig.shopId, orderId: 'skew', allocationId: 'skew-a', occurredAt: '9999-12-31T23:59:59Z', lines: [line()] }),
        'occurredAt',
        'max_clock_skew_seconds: 300',
      );
      const { rows } = await rig.svc.db.query('SELECT count(*)::int AS n FROM wms_allocations WHERE shop_id = $1 AND allocation_id = $2', [rig.shopId, 'skew-a']);
      expect(rows[0].n).toBe(0);
    });

    it('POST /orders with an updatedAt a day ahead is a 400 naming updatedAt and the bound; a minute ahead is accepted', async () => {
      const dayAhead = new Date(Date.now() + 86_400_000).toISOString();
      await expectRefused(await rig.postOrder({ shopId: rig.shopId, orderId: 'skew-o', updatedAt: dayAhead, lines: [line()] }), 'updatedAt', 'max_clock_skew_seconds: 300');
      const minuteAhead = new Date(Date.now() + 60_000).toISOString();
      expect((await rig.postOrder({ shopId: rig.shopId, orderId: 'skew-ok', updatedAt: minuteAhead, lines: [line()] })).status).toBe(202);
    });
  });

  describe('a source learns nothing about which shops are configured', () => {
    it('an event for a shop outside the token\'s scope is 403, whether that shop is configured or not', async () => {
      const answers = [];
      for (const shopId of [OTHER, 'no-such-shop']) {
        const res = await postEvents({ events: [event(), event({ shopId })] });
        expect(res.status, shopId).toBe(403);
        const body = (await res.json()) as { code: string; message: string; details: unknown };
        answers.push({ ...body, message: body.message.replace(shopId, '<shop>') });
      }
      expect(answers[0]).toMatchObject({ code: 'ISYNC_FORBIDDEN', details: { field: 'events.1.shopId' } });
      expect(answers[1]).toEqual(answers[0]);
    });

    it('the unknown-shop answer names at most 5 shops, so one request cannot write 64 KB into the log', async () => {
      // Only a source bound to shops missing from `shops` reaches that answer (config check refuses such a
      // configuration): the parsed configuration is edited to make one.
      const ghosts = Array.from({ length: 1000 }, (_, i) => `ghost-${String(i).padStart(4, '0')}-${'g'.repeat(53)}`);
      const config = JSON.parse(JSON.stringify(rig.config)) as Config;
      const erp = config.sources.find((s) => s.name === `${rig.shopId}-erp`)!;
      erp.shops = [rig.shopId, ...ghosts];
      const app = buildHttpServer({ db: rig.svc.db, redis: rig.svc.redis, config, temporal: rig.svc.temporal, taskQueue: rig.svc.taskQueue, metrics: createMetrics(), logger: pino({ level: 'silent' }), env: rig.env });
      servers.push(app);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const res = await postEvents({ events: ghosts.map((shopId) => event({ shopId })) }, url);
      expect(res.status).toBe(404);
      const body = (await res.json()) as { code: string; message: string; details: { shopIds: string[] } };
      expect(body.code).toBe('ISYNC_UNKNOWN_SHOP');
      expect(body.message).toContain('and 995 more');
      expect(body.message.length).toBeLessThan(800);
      expect(body.details.shopIds).toHaveLength(5);
    });
  });

  it('300,000 empty events (under the 1 MiB body limit) are a quick 400 naming the events bound', async () => {
    const body = `{"events":[${Array.from({ length: 300_000 }, () => '{}').join(',')}]}`;
    expect(body.length).toBeLessThan(1024 * 1024);
    const started = performance.now();
    const res = await postEvents(body);
    const elapsedMs = performance.now() - started;
    await expectRefused(res, 'events', 'expected at most 1000 events');
    expect(elapsedMs).toBeLessThan(2000);
  });
});
