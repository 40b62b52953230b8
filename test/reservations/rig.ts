import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { readComponents } from '../../src/sources/components.js';
import type { Activities } from '../../src/activities/index.js';
import type { Config } from '../../src/config/schema.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { computeAts } from '../../src/domain/ats.js';
import type { ReservationStatus } from '../../src/domain/reservation-model.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { createSources } from '../../src/runtime/sources.js';
import type { ShopifyClient } from '../../src/shopify/client/index.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { buildHttpServer } from '../../src/starters/http/server.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/**
 * Everything a reservation test drives, for real: the emulator (sending signed webhooks to our HTTP server on a
 * free port), the HTTP server, a worker on this file's task queue, PostgreSQL sources seeded with on-hand stock.
 */
export interface RigOptions {
  ttlSeconds?: number;
  autoRelease?: boolean;
  skus?: string[];
  locations?: string[];
  onHand?: number;
  /** Deliver the emulator's webhooks to our server (default true). */
  webhooks?: boolean;
  plan?: 'standard' | 'advanced' | 'plus' | 'enterprise';
  /** Wraps the Shopify client the activities use (fault injection). */
  wrapShopify?: (client: ShopifyClient) => ShopifyClient;
  /** Start a worker (default true). */
  worker?: boolean;
  /** Edits the raw configuration before it is validated (extra shops, limits). */
  configure?: (raw: Record<string, unknown>) => Record<string, unknown>;
  /** The WMS is an `http` source at this URL (pulled by delta or full sync) instead of a pushed `postgres` one. */
  wmsHttp?: { url: string; mode?: 'delta' | 'full' };
}

export interface Rig {
  svc: TestServices;
  emu: RunningEmulator;
  app: FastifyInstance;
  url: string;
  shopId: string;
  domain: string;
  config: Config;
  env: Record<string, string>;
  catalog: SeededCatalog;
  secret: string;
  wmsToken: string;
  erpToken: string;
  /** The token of the channel `oms` (POST /orders). */
  orderToken: string;
  operatorToken: string;
  /** The order id an order the `oms` channel posted lives under. */
  ext(orderId: string): string;
  activities: Activities;
  startWorker(): Promise<void>;
  available(sku: string, location: string): number;
  ats(sku: string, location: string): Promise<number>;
  /** openClaims + wmsAllocated as a refresh reads them. */
  counted(sku: string, location: string): Promise<{ openClaims: number; wmsAllocated: number }>;
  claimLines(orderId: string): Promise<{ line_id: string; sku: string; location_id: string; claimed: number; allocated: number; shopify_adjusted: number }[]>;
  reservation(orderId: string): Promise<{ state: string; origin: string } | undefined>;
  status(orderId: string): Promise<ReservationStatus>;
  postWms(body: unknown, token?: string): Promise<Response>;
  postOrder(body: unknown, token?: string): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A `configure` that adds a second configured shop, `otherId`, and binds the rig's sources and channels to the
 * rig's own shop only: what a token may not do to a shop outside its scope.
 */
export function withUnboundShop(otherId: string): NonNullable<RigOptions['configure']> {
  return (raw) => {
    const shops = raw.shops as { id: string }[];
    const bind = (list: Record<string, unknown>[]) => list.map((p) => ({ ...p, shops: [shops[0]!.id] }));
    return {
      ...raw,
      shops: [...shops, { id: otherId, domain: `${otherId}.myshopify.com`, access_token_env: 'OTHER_TOKEN', webhook_secret_env: 'OTHER_SECRET' }],
      sources: bind(raw.sources as Record<string, unknown>[]),
      channels: bind((raw.channels as Record<string, unknown>[] | undefined) ?? []),
    };
  };
}

export const T0 = '2026-01-01T00:00:00.000Z';

export async function startRig(opts: RigOptions = {}, shared?: TestServices): Promise<Rig> {
  const svc = shared ?? (await connectTestServices());
  const emu = await startEmulator({ port: 0, logger: false, webhooks: { retryDelaysMs: [100, 200, 400, 800, 1600], timeoutMs: 3000 } });
  const shopId = svc.uid('res');
  const domain = `${shopId}.myshopify.com`;
  const skus = opts.skus ?? ['TEE-RED-M'];
  const locations = opts.locations ?? ['WH1'];
  const onHand = opts.onHand ?? 20;
  const secret = `whsec-${shopId}`;
  const wmsToken = `wms-${shopId}`;
  const erpToken = `erp-${shopId}`;
  const orderToken = `oms-${shopId}`;
  const operatorToken = `op-${shopId}`;
  const env: Record<string, string> = {
    RES_SHOP_TOKEN: `shpat-${shopId}`,
    RES_WEBHOOK_SECRET: secret,
    RES_WMS_TOKEN: wmsToken,
    RES_ERP_TOKEN: erpToken,
    RES_OMS_TOKEN: orderToken,
    RES_OPERATOR_TOKEN: operatorToken,
  };
  const configure = opts.configure ?? ((raw) => raw);
  const config = testConfig(configure({
    inventory_sync: {
      reservations: { ttl_hours: 24, ...(opts.ttlSeconds ? { ttl_seconds: opts.ttlSeconds } : {}), auto_release_enabled: opts.autoRelease ?? true },
      safety_buffers: { strategy: 'static', static_units: 0 },
    },
    shops: [{ id: shopId, domain, plan: opts.plan ?? 'enterprise', access_token_env: 'RES_SHOP_TOKEN', webhook_secret_env: 'RES_WEBHOOK_SECRET' }],
    sources: [
      { name: `${shopId}-erp`, role: 'erp', type: 'postgres', token_env: 'RES_ERP_TOKEN' },
      opts.wmsHttp
        ? { name: `${shopId}-wms`, role: 'wms', type: 'http', url: opts.wmsHttp.url, mode: opts.wmsHttp.mode ?? 'delta', token_env: 'RES_WMS_TOKEN' }
        : { name: `${shopId}-wms`, role: 'wms', type: 'postgres', token_env: 'RES_WMS_TOKEN' },
      { name: `${shopId}-pos`, role: 'pos', type: 'postgres' },
    ],
    channels: [{ name: 'oms', token_env: 'RES_OMS_TOKEN' }],
    operator: { token_env: 'RES_OPERATOR_TOKEN' },
  }));

  const clients = createShopifyClients(config, { baseUrl: emu.url, env });
  const shopify = opts.wrapShopify ? (id: string) => opts.wrapShopify!(clients(id)) : clients;
  const sources = createSources(config, svc.db);
  const app = buildHttpServer({
    db: svc.db,
    redis: svc.redis,
    config,
    temporal: svc.temporal,
    taskQueue: svc.taskQueue,
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    env,
    // The reads (/ats, /explain, the console) compute from the same sources and read this emulator.
    sources,
    shopify: clients,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const catalog = await seedCatalog(emu.emulator, svc.db, {
    shopId,
    domain,
    accessToken: env.RES_SHOP_TOKEN!,
    plan: opts.plan ?? 'enterprise',
    ...(opts.webhooks === false ? {} : { webhookUrl: `${url}/webhooks/shopify` }),
    webhookSecret: secret,
    locations,
    skus,
    initialAvailable: () => onHand,
  });
  const changes = skus.flatMap((sku) => locations.map((locationId) => ({ shopId, sku, locationId, occurredAt: T0 })));
  await recordSourceChanges(svc.db, `${shopId}-erp`, changes.map((c) => ({ ...c, quantity: onHand })));
  if (!opts.wmsHttp) await recordSourceChanges(svc.db, `${shopId}-wms`, changes.map((c) => ({ ...c, quantity: 0 })));
  await recordSourceChanges(svc.db, `${shopId}-pos`, changes.map((c) => ({ ...c, quantity: 0 })));

  const activities = svc.activities(config, shopify);
  const rig: Rig = {
    svc,
    emu,
    app,
    url,
    shopId,
    domain,
    config,
    env,
    catalog,
    secret,
    wmsToken,
    erpToken,
    orderToken,
    operatorToken,
    ext: (orderId) => `ext:oms:${orderId}`,
    activities,
    startWorker: async () => void (await svc.startWorker(activities)),
    available: (sku, location) => {
      const ids = catalog.ids.get(`${sku}|${location}`)!;
      return emu.emulator.getLevel(domain, ids.inventoryItemId, ids.locationId).available;
    },
    ats: async (sku, locationId) => {
      const c = (await readComponents({ db: svc.db, config, sources }, shopId, [{ sku, locationId }])).get(`${sku}|${locationId}`)!;
      if (c.status !== 'ok') throw new Error(`no on-hand for ${sku}|${locationId}`);
      return computeAts(c.components);
    },
    counted: async (sku, locationId) => {
      const c = (await readComponents({ db: svc.db, config, sources }, shopId, [{ sku, locationId }])).get(`${sku}|${locationId}`)!;
      if (c.status !== 'ok') throw new Error(`no on-hand for ${sku}|${locationId}`);
      return { openClaims: c.components.openClaims, wmsAllocated: c.components.wmsAllocated };
    },
    claimLines: async (orderId) =>
      (await svc.db.query('SELECT line_id, sku, location_id, claimed, allocated, shopify_adjusted FROM claim_lines WHERE shop_id = $1 AND order_id = $2 ORDER BY line_id', [shopId, orderId])).rows,
    reservation: async (orderId) => (await svc.db.query('SELECT state, origin FROM reservations WHERE shop_id = $1 AND order_id = $2', [shopId, orderId])).rows[0],
    status: async (orderId) => {
      const res = await fetch(`${url}/reservations/${shopId}/${encodeURIComponent(orderId)}`, { headers: { authorization: `Bearer ${operatorToken}` } });
      if (res.status !== 200) throw new Error(`GET /reservations answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as ReservationStatus;
    },
    postWms: (body, token = wmsToken) =>
      fetch(`${url}/wms/allocations`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }),
    postOrder: (body, token = orderToken) =>
      fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }),
    close: async () => {
      // The shop's refresh workflow outlives the test otherwise, and would retry against a closed emulator.
      await svc.temporal.workflow.getHandle(`refresh:${shopId}`).terminate('test over').catch(() => undefined);
      await app.close();
      await emu.close();
      if (!shared) await svc.close();
    },
  };
  if (opts.worker !== false) await rig.startWorker();
  return rig;
}

/** The numeric order id the emulator returns as a gid. */
export function orderIdOf(view: { id: string }): string {
  return view.id.replace(/^gid:\/\/shopify\/Order\//, '');
}

export function lineIdOf(view: { lineItems: { id: string }[] }, i = 0): string {
  return view.lineItems[i]!.id.replace(/^gid:\/\/shopify\/LineItem\//, '');
}

/** Polls outside a test body (hooks), where expect.poll is not allowed. */
export async function waitFor<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
