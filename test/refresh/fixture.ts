import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Activities } from '../../src/activities/index.js';
import { createRefreshActivities, type RefreshDeps } from '../../src/activities/refresh.js';
import { createInventoryWorker } from '../../src/workers/worker.js';
import type { Config } from '../../src/config/schema.js';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { seedCatalog, type SeededCatalog } from '../../src/demo/seed-catalog.js';
import { createSources } from '../../src/runtime/sources.js';
import { createShopifyClient, type ShopifyClient } from '../../src/shopify/client/index.js';
import type { RetryPolicy } from '../../src/shopify/client/types.js';
import type { RunningEmulator } from '../../src/shopify/emulator/index.js';
import type { SourceAdapter } from '../../src/sources/adapter.js';
import { testConfig, type TestServices } from '../support/services.js';

export type Role = 'erp' | 'wms' | 'pos';

export interface ShopFixture {
  shopId: string;
  domain: string;
  token: string;
  config: Config;
  catalog: SeededCatalog;
  source: Record<Role, string>;
  shopify: ShopifyClient;
  /** Records a source reading the way the event route would (each call is later than the previous one). */
  /** `at` (ISO) sends a reading with that time instead of the next one: a late or repeated event. */
  setSource(role: Role, sku: string, location: string, quantity: number, at?: string): Promise<void>;
  level(sku: string, location: string): { available: number; committed: number; on_hand: number };
  refresh(extra?: Partial<RefreshDeps>): ReturnType<typeof createRefreshActivities>;
  sources(): SourceAdapter[];
}

let clock = Date.UTC(2026, 10, 30, 8, 0, 0);
/** Strictly increasing event times across every fixture of a file. */
export const nextEventTime = () => new Date((clock += 1000)).toISOString();

export async function createShopFixture(
  svc: TestServices,
  emu: RunningEmulator,
  opts: {
    skus: string[];
    locations: string[];
    initialAvailable?: (sku: string, location: string) => number;
    retry?: Partial<RetryPolicy>;
    config?: Record<string, unknown>;
    prefix?: string;
    /** Source names are `${sourcePrefix}-erp|wms|pos` (default: the shop id), so one worker can serve many shops. */
    sourcePrefix?: string;
  },
): Promise<ShopFixture> {
  const shopId = svc.uid(opts.prefix ?? 'ref');
  const domain = `${shopId}.myshopify.com`;
  const token = `tok-${shopId}`;
  const sp = opts.sourcePrefix ?? shopId;
  const source = { erp: `${sp}-erp`, wms: `${sp}-wms`, pos: `${sp}-pos` };
  const config = testConfig({
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 } },
    shops: [{ id: shopId, domain, access_token_env: 'UNUSED_TOKEN', webhook_secret_env: 'UNUSED_SECRET' }],
    sources: (Object.entries(source) as [Role, string][]).map(([role, name]) => ({ name, role, type: 'postgres' })),
    ...opts.config,
  });
  const catalog = await seedCatalog(emu.emulator, svc.db, { shopId, domain, accessToken: token, locations: opts.locations, skus: opts.skus, ...(opts.initialAvailable ? { initialAvailable: opts.initialAvailable } : {}) });
  const shopify = createShopifyClient({ shopDomain: domain, accessToken: token, baseUrl: emu.url, retry: { baseDelayMs: 5, maxDelayMs: 20, ...opts.retry } });
  const ids = (sku: string, location: string) => catalog.ids.get(`${sku}|${location}`)!;
  const fixture: ShopFixture = {
    shopId,
    domain,
    token,
    config,
    catalog,
    source,
    shopify,
    async setSource(role, sku, location, quantity, at) {
      await recordSourceChanges(svc.db, source[role], [{ shopId, sku, locationId: location, quantity, occurredAt: at ?? nextEventTime() }]);
    },
    level(sku, location) {
      const l = emu.emulator.getLevel(domain, ids(sku, location).inventoryItemId, ids(sku, location).locationId) as unknown as Record<string, number>;
      return { available: l.available!, committed: l.committed!, on_hand: l.on_hand! };
    },
    sources: () => createSources(config, svc.db),
    refresh(extra = {}) {
      return createRefreshActivities({ db: svc.db, redis: svc.redis, config, sources: createSources(config, svc.db), shopify: () => shopify, ...extra });
    },
  };
  return fixture;
}

/** The configuration of a file's shops that share `${sourcePrefix}-erp|wms|pos` sources, for one worker. */
export function sharedSourcesConfig(sourcePrefix: string): Config {
  return testConfig({
    inventory_sync: { safety_buffers: { strategy: 'static', static_units: 0 } },
    sources: (['erp', 'wms', 'pos'] as const).map((role) => ({ name: `${sourcePrefix}-${role}`, role, type: 'postgres' })),
  });
}

export interface AuditView {
  id: number;
  sku: string;
  location_id: string;
  outcome: string;
  version: string | null;
  ats: number | null;
  previous_shopify: number | null;
  error_code: string | null;
  detail: string | null;
  idempotency_key: string | null;
  trigger: string;
  components: Record<string, number> | null;
}

export async function auditRows(svc: TestServices, shopId: string): Promise<AuditView[]> {
  const { rows } = await svc.db.query<AuditView>(
    `SELECT id::int, sku, location_id, outcome, version::text, ats, previous_shopify, error_code, detail, idempotency_key, trigger, components
       FROM audit_log WHERE shop_id = $1 ORDER BY id`,
    [shopId],
  );
  return rows;
}

/** Inserts an open claim the way the reservation workflow would (a placed order not yet allocated by the WMS). */
export async function insertClaim(svc: TestServices, shopId: string, orderId: string, sku: string, location: string, units: number): Promise<void> {
  await svc.db.query(
    `INSERT INTO reservations (shop_id, order_id, origin, state, workflow_id) VALUES ($1, $2, 'shopify', 'claimed', $3) ON CONFLICT DO NOTHING`,
    [shopId, orderId, `reservation:${shopId}:${orderId}`],
  );
  await svc.db.query(
    `INSERT INTO claim_lines (shop_id, order_id, line_id, sku, location_id, claimed) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (shop_id, order_id, line_id) DO UPDATE SET claimed = EXCLUDED.claimed`,
    [shopId, orderId, `${orderId}-${sku}-${location}`, sku, location, units],
  );
}

/** A worker on a task queue of the test's own, started when the test chooses (signals sent before it queue up). */
export async function startWorkerOn(taskQueue: string, activities: Activities): Promise<{ stop(): Promise<void> }> {
  const native = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createInventoryWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    activities,
    workflowBundlePath: inject('workflowBundlePath'),
    overrides: { shutdownGraceTime: '2 seconds' },
  });
  const run = worker.run();
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run.catch(() => undefined);
      await native.close();
    },
  };
}
