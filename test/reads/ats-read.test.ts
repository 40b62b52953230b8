import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';
import { createAtsReader, type AtsReader } from '../../src/reads/ats-reader.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { createShopFixture, type ShopFixture } from '../refresh/fixture.js';
import { useServicesAndEmulator } from '../support/services.js';

const SKU = 'READ-1';
const OTHER_SKU = 'READ-2';
const WH = 'WH1';
const env = { READ_OPERATOR: 'op-secret', READ_CHANNEL: 'mkt-secret', READ_ERP: 'erp-secret' };

/** A gate a computation waits at: the test decides when it goes on. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('GET /ats/:shop?sku=&location=', () => {
  const ctx = useServicesAndEmulator();
  let fx: ShopFixture;
  let app: FastifyInstance;
  let url: string;
  let reader: AtsReader;
  let now = Date.UTC(2026, 10, 30, 12, 0, 0);
  /** Set by a test to hold every computation at its start; `entered` says one has begun. */
  let hold: { gate: ReturnType<typeof gate>; entered: () => void } | null = null;

  beforeAll(async () => {
    fx = await createShopFixture(ctx.svc, ctx.emu, {
      skus: [SKU, OTHER_SKU],
      locations: [WH, 'WH2'],
      initialAvailable: () => 0,
      config: {
        inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 }, aggregation: { cache_ttl_seconds: 30 } },
        channels: [{ name: 'marketplace', token_env: 'READ_CHANNEL' }],
        operator: { token_env: 'READ_OPERATOR' },
      },
    });
    // The ERP reports for this shop and may push events, but is not a reader of ATS.
    fx.config.sources[0]!.token_env = 'READ_ERP';
    reader = createAtsReader({
      db: ctx.svc.db,
      config: fx.config,
      sources: fx.sources(),
      clock: () => now,
      racePoints: {
        beforeCompute: async () => {
          if (!hold) return;
          hold.entered();
          await hold.gate.opened;
        },
      },
    });
    app = buildHttpServer({
      db: ctx.svc.db,
      redis: ctx.svc.redis,
      config: fx.config,
      temporal: ctx.svc.temporal,
      taskQueue: ctx.svc.taskQueue,
      metrics: createMetrics(),
      logger: pino({ level: 'silent' }),
      env,
      sources: fx.sources(),
      shopify: () => fx.shopify,
      atsReader: reader,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    for (const loc of [WH, 'WH2']) {
      await fx.setSource('erp', SKU, loc, 10);
      await fx.setSource('erp', OTHER_SKU, loc, 10);
    }
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = (path: string, token: string | null = env.READ_OPERATOR) => fetch(`${url}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const ats = async (path: string, token?: string | null) => {
    const res = await get(path, token);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { locations: { locationId: string; ats: number; cached: boolean; computedAt: string }[] };
  };

  it('answers every location of a SKU, or the one asked, for the operator and for a channel of the shop', async () => {
    const all = await ats(`/ats/${fx.shopId}?sku=${SKU}`);
    expect(all.locations.map((l) => [l.locationId, l.ats])).toEqual([[WH, 10], ['WH2', 10]]);
    const one = await ats(`/ats/${fx.shopId}?sku=${SKU}&location=WH2`, env.READ_CHANNEL);
    expect(one.locations.map((l) => l.locationId)).toEqual(['WH2']);
  });

  it('concurrent requests for one key share one computation (held at its start until all 12 have arrived)', async () => {
    now += 60_000; // past the TTL of earlier answers
    const entered = gate();
    hold = { gate: gate(), entered: entered.open };
    const before = reader.computations();
    const readsBefore = reader.reads();
    const first = ats(`/ats/${fx.shopId}?sku=${OTHER_SKU}&location=${WH}`);
    await entered.opened;
    const rest = Array.from({ length: 11 }, () => ats(`/ats/${fx.shopId}?sku=${OTHER_SKU}&location=${WH}`, env.READ_CHANNEL));
    // Every request has reached the reader while the one computation is still held.
    await expect.poll(() => reader.reads() - readsBefore, { timeout: 10_000 }).toBe(12);
    expect(reader.inFlight()).toBe(1);
    hold.gate.open();
    const answers = await Promise.all([first, ...rest]);
    hold = null;
    expect(reader.computations() - before).toBe(1);
    expect(new Set(answers.map((a) => a.locations[0]!.computedAt)).size).toBe(1);
    expect(answers.every((a) => a.locations[0]!.ats === 10)).toBe(true);
  });

  it('honours aggregation.cache_ttl_seconds: the cached answer until it expires, then a new computation', async () => {
    now += 60_000;
    const fresh = await ats(`/ats/${fx.shopId}?sku=${SKU}&location=${WH}`);
    expect(fresh.locations[0]).toMatchObject({ ats: 10, cached: false });
    await fx.setSource('erp', SKU, WH, 7);
    now += 29_000;
    expect((await ats(`/ats/${fx.shopId}?sku=${SKU}&location=${WH}`)).locations[0]).toMatchObject({ ats: 10, cached: true });
    now += 2_000;
    expect((await ats(`/ats/${fx.shopId}?sku=${SKU}&location=${WH}`)).locations[0]).toMatchObject({ ats: 7, cached: false });
  });

  it('a cached value is never written to Shopify: the refresh reads the sources itself', async () => {
    now += 60_000;
    await fx.setSource('erp', SKU, 'WH2', 9);
    expect((await ats(`/ats/${fx.shopId}?sku=${SKU}&location=WH2`)).locations[0]).toMatchObject({ ats: 9, cached: false });
    await fx.setSource('erp', SKU, 'WH2', 4);
    // The read cache still says 9 ...
    expect((await ats(`/ats/${fx.shopId}?sku=${SKU}&location=WH2`)).locations[0]).toMatchObject({ ats: 9, cached: true });
    // ... and the refresh the event triggers writes 4.
    await fx.refresh().refreshKeys({ shopId: fx.shopId, keys: [{ sku: SKU, locationId: 'WH2' }], trigger: 'source_event' });
    expect(fx.level(SKU, 'WH2').available).toBe(4);
    // The write path does not even import the read side.
    const writePath = [...readdirSync('src/activities').map((f) => `src/activities/${f}`), 'src/sources/components.ts'];
    for (const file of writePath) {
      expect(readFileSync(file, 'utf8')).not.toMatch(/reads\/|ats-reader/);
    }
  });

  it('a missing or wrong token, or a token of another role, gets 401', async () => {
    for (const token of [null, 'nope', env.READ_ERP]) {
      const res = await get(`/ats/${fx.shopId}?sku=${SKU}`, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'ISYNC_UNAUTHORIZED' });
    }
  });

  it('an unknown shop, SKU or location gets a 404 naming which; a missing sku a 400', async () => {
    const cases: [string, string, string][] = [
      [`/ats/no-such-shop?sku=${SKU}`, 'ISYNC_UNKNOWN_SHOP', 'shop'],
      [`/ats/${fx.shopId}?sku=NO-SUCH-SKU`, 'ISYNC_SKU_NOT_FOUND', 'sku'],
      [`/ats/${fx.shopId}?sku=${SKU}&location=WH9`, 'ISYNC_LOCATION_NOT_FOUND', 'location'],
    ];
    for (const [path, code, field] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { code: string; message: string; details: { field: string } };
      expect(body).toMatchObject({ code, details: { field } });
    }
    const noSku = await get(`/ats/${fx.shopId}`);
    expect(noSku.status).toBe(400);
    expect(await noSku.json()).toMatchObject({ code: 'ISYNC_PAYLOAD_INVALID', details: { field: 'sku' } });
  });

  it("a channel may not read another shop's ATS (403, the answer for any shop it is not bound to)", async () => {
    const res = await get(`/ats/no-such-shop?sku=${SKU}`, env.READ_CHANNEL);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'ISYNC_FORBIDDEN', details: { field: 'shop' } });
  });
});
