import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readComponents } from '../../src/sources/components.js';
import { HttpJsonSource } from '../../src/sources/http-json.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';
import type { SkuLocation } from '../../src/domain/sku-location.js';

type Handler = (req: IncomingMessage, body: unknown, res: ServerResponse) => void | Promise<void>;

interface FakeErp {
  url: string;
  requests: { method: string; path: string; auth: string | undefined; body: unknown }[];
  /** Requests whose client went away before we answered. */
  aborted: number;
  server: Server;
}

/** A small real HTTP server standing in for a merchant's ERP or WMS. */
async function fakeSource(handler: Handler): Promise<FakeErp> {
  const fake: FakeErp = { url: '', requests: [], aborted: 0, server: undefined as unknown as Server };
  fake.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      fake.requests.push({ method: req.method!, path: req.url!, auth: req.headers.authorization, body });
      res.on('close', () => {
        if (!res.writableEnded) fake.aborted++;
      });
      void handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}/api`;
  return fake;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** Answers components from a table of `sku|location` -> quantity. */
const componentsFrom = (table: Record<string, number>): Handler => (_req, body, res) => {
  const { keys } = body as { keys: { sku: string; location: string }[] };
  json(res, 200, { quantities: keys.filter((k) => `${k.sku}|${k.location}` in table).map((k) => ({ ...k, quantity: table[`${k.sku}|${k.location}`] })) });
};

describe('HTTP JSON source adapter against a real HTTP server', () => {
  let svc: TestServices;
  const servers: FakeErp[] = [];
  const start = async (h: Handler) => {
    const s = await fakeSource(h);
    servers.push(s);
    return s;
  };
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.server.closeAllConnections();
      await new Promise((r) => s.server.close(r));
    }
  });
  afterAll(async () => {
    await svc?.close();
  });

  const keys: SkuLocation[] = Array.from({ length: 250 }, (_, i) => ({ sku: `SKU-${i}`, locationId: i % 2 ? 'WH1' : 'WH2' }));

  it('reads a whole batch of 250 keys in one authenticated request; keys the source does not know stay absent', async () => {
    const table = Object.fromEntries(keys.slice(0, 200).map((k, i) => [`${k.sku}|${k.locationId}`, i]));
    const erp = await start(componentsFrom({ ...table, 'NOT-ASKED|WH1': 5 }));
    const source = new HttpJsonSource({ name: 'erp-rest', role: 'erp', url: erp.url, token: 's3cret' });

    const got = await source.getComponents('shop-1', keys, AbortSignal.timeout(5000));
    expect(erp.requests).toHaveLength(1);
    expect(erp.requests[0]).toMatchObject({ method: 'POST', path: '/api/components', auth: 'Bearer s3cret' });
    expect((erp.requests[0]!.body as { shop: string; keys: unknown[] }).shop).toBe('shop-1');
    expect(got.size).toBe(200);
    expect(got.get('SKU-7|WH1')).toBe(7);
    expect(got.has('SKU-220|WH2')).toBe(false);
    expect(got.has('NOT-ASKED|WH1')).toBe(false);
  });

  it('fetches every source in parallel: each server answers only once the other has received its request', async () => {
    let bothArrived!: () => void;
    const arrived = new Promise<void>((r) => (bothArrived = r));
    let count = 0;
    const meet: (table: Record<string, number>) => Handler = (table) => async (req, body, res) => {
      if (++count === 2) bothArrived();
      await arrived;
      await componentsFrom(table)(req, body, res);
    };
    const erp = await start(meet({ 'A|WH1': 50 }));
    const wms = await start(meet({ 'A|WH1': 8 }));
    const config = testConfig({ inventory_sync: { safety_buffers: { strategy: 'static', static_units: 2 }, aggregation: { parallel_fetch_timeout_ms: 3000 } } });
    const sources = [new HttpJsonSource({ name: 'erp-rest', role: 'erp', url: erp.url }), new HttpJsonSource({ name: 'wms-rest', role: 'wms', url: wms.url })];

    const result = await readComponents({ db: svc.db, config, sources }, svc.uid('shop'), [{ sku: 'A', locationId: 'WH1' }]);
    expect(result.get('A|WH1')).toEqual({ status: 'ok', components: { erpOnHand: 50, wmsAllocated: 8, posPending: 0, openClaims: 0, safetyBuffer: 2 } });
  });

  it('a source slower than parallel_fetch_timeout_ms fails the batch with ISYNC_SOURCE_TIMEOUT and its request is abandoned', async () => {
    const erp = await start(componentsFrom({ 'A|WH1': 50 }));
    const slowWms = await start(() => undefined); // never answers
    const config = testConfig({ inventory_sync: { aggregation: { parallel_fetch_timeout_ms: 200 } } });
    const sources = [new HttpJsonSource({ name: 'erp-rest', role: 'erp', url: erp.url }), new HttpJsonSource({ name: 'wms-slow', role: 'wms', url: slowWms.url })];

    const failure = await readComponents({ db: svc.db, config, sources }, svc.uid('shop'), [{ sku: 'A', locationId: 'WH1' }]).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'ISYNC_SOURCE_TIMEOUT', details: { source: 'wms-slow' } });
    await expect.poll(() => slowWms.aborted).toBe(1);
  });

  it('an error status or a body outside the contract is ISYNC_SOURCE_FAILED naming what was wrong', async () => {
    const down = await start((_req, _body, res) => json(res, 500, { error: 'db down' }));
    await expect(new HttpJsonSource({ name: 'erp-down', role: 'erp', url: down.url }).getComponents('s', keys, AbortSignal.timeout(5000))).rejects.toMatchObject({
      code: 'ISYNC_SOURCE_FAILED',
      details: { status: 500 },
    });
    const wrong = await start((_req, _body, res) => json(res, 200, { quantities: [{ sku: 'A', location: 'WH1', quantity: 'many' }] }));
    await expect(new HttpJsonSource({ name: 'erp-wrong', role: 'erp', url: wrong.url }).getComponents('s', keys, AbortSignal.timeout(5000))).rejects.toMatchObject({
      code: 'ISYNC_SOURCE_FAILED',
      message: expect.stringContaining('quantities.0.quantity'),
    });
  });

  it('reads the change feed after a cursor and pages through a full snapshot', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ shop: 'shop-1', sku: `S${i}`, location: 'WH1', quantity: i * 10 }));
    const erp = await start((req, _body, res) => {
      const url = new URL(req.url!, 'http://x');
      const after = Number(url.searchParams.get('after') ?? '0');
      const limit = Number(url.searchParams.get('limit'));
      if (url.pathname === '/api/changes') {
        json(res, 200, { changes: rows.slice(after, after + limit).map((r, i) => ({ ...r, occurred_at: '2026-11-30T08:00:00+01:00', cursor: after + i + 1 })) });
      } else {
        const page = rows.slice(after, after + limit);
        json(res, 200, { readings: page, next_cursor: after + limit < rows.length ? String(after + limit) : null });
      }
    });
    const source = new HttpJsonSource({ name: 'erp-rest', role: 'erp', url: erp.url, token: 't' });
    const changes = await source.changesSince('2', 10, AbortSignal.timeout(5000));
    expect(changes.map((c) => [c.sku, c.quantity, c.cursor])).toEqual([
      ['S2', 20, '3'],
      ['S3', 30, '4'],
      ['S4', 40, '5'],
    ]);
    expect(changes[0]!.occurredAt).toBe('2026-11-30T07:00:00.000Z');

    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await source.snapshot(cursor, 2, AbortSignal.timeout(5000));
      all.push(...page.readings.map((r) => `${r.shopId}/${r.sku}/${r.locationId}=${r.quantity}`));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(all).toEqual(['shop-1/S0/WH1=0', 'shop-1/S1/WH1=10', 'shop-1/S2/WH1=20', 'shop-1/S3/WH1=30', 'shop-1/S4/WH1=40']);
    expect(erp.requests.filter((r) => r.path.startsWith('/api/snapshot'))).toHaveLength(3);
  });

  it('bounds change-feed requests by request_timeout_ms', async () => {
    const slow = await start(() => undefined);
    const source = new HttpJsonSource({ name: 'erp-slow', role: 'erp', url: slow.url, requestTimeoutMs: 100 });
    await expect(source.changesSince(null, 10, new AbortController().signal)).rejects.toMatchObject({ code: 'ISYNC_SOURCE_TIMEOUT' });
  });
});
