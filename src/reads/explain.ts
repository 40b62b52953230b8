import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import { dailySales, withTimeout } from '../sources/components.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { computeAts, type AtsComponents } from '../domain/ats.js';
import { workflowIds } from '../domain/keys.js';
import { explainSafetyBuffer, bufferStrategyOf } from '../domain/safety-buffer.js';
import { inspectGuard } from '../guard/inspect.js';
import { readCommitted } from '../guard/last-seen.js';
import { heldForShopifyOrders } from '../db/claims.js';
import { readingOutlived, unclaimedUnits } from '../activities/shopify-unclaimed.js';
import type { CallBounds, LevelPair, LevelQuantities } from '../shopify/client/types.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { skuLocationKey } from '../domain/sku-location.js';
import type { PendingKey } from '../workflows/shop-refresh.js';
import { resolveKeys, type MappedKey } from './lookup.js';
import type { ClaimView, ComponentView, InFlightView, KeyExplanation, SourceReading, WriteView } from './views.js';

export type { ClaimView, ComponentView, InFlightView, KeyExplanation, SourceReading, WriteView } from './views.js';

/** What explain reads Shopify through: the budget-aware client's level read. */
export interface ShopifyLevelsPort {
  readLevels(pairs: LevelPair[], names?: readonly string[], bounds?: CallBounds): Promise<Map<string, LevelQuantities>>;
}

export interface ExplainDeps {
  db: Db;
  redis: Redis;
  config: Config;
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyLevelsPort;
  temporal: Client;
}

export const ATS_FORMULA = 'max(0, erpOnHand - wmsAllocated - posPending - openClaims - safetyBuffer - shopifyUnclaimed)';
export const DEFAULT_EXPLAIN_WRITES = 10;
/** Bounds the slow parts (Shopify, a Temporal query): explain answers in time even when one of them does not. */
const PART_TIMEOUT_MS = 3000;

function timeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${PART_TIMEOUT_MS} ms`)), PART_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function readSources(deps: ExplainDeps, shopId: string, key: MappedKey): Promise<SourceReading[]> {
  const timeoutMs = deps.config.inventory_sync.aggregation.parallel_fetch_timeout_ms;
  const [values, { rows }] = await Promise.all([
    // A source that fails is shown failing; the rest still explain what they can.
    Promise.all(deps.sources.map((s) => withTimeout(s, timeoutMs, (signal) => s.getComponents(shopId, [key], signal)).catch((err: Error) => err))),
    deps.db.query<{ source: string; updated_at: Date; age: number }>(
      `SELECT source, updated_at, extract(epoch FROM now() - updated_at)::float8 AS age
         FROM source_snapshots WHERE shop_id = $1 AND sku = $2 AND location_id = $3`,
      [shopId, key.sku, key.locationId],
    ),
  ]);
  const recorded = new Map(rows.map((r) => [r.source, r]));
  return deps.sources.map((s, i) => {
    const r = recorded.get(s.name);
    const value = values[i];
    return {
      source: s.name,
      role: s.role,
      units: value instanceof Error ? null : (value?.get(skuLocationKey(key)) ?? null),
      ...(value instanceof Error ? { error: value.message } : {}),
      recordedAt: r ? r.updated_at.toISOString() : null,
      ageSeconds: r ? Math.round(r.age) : null,
    };
  });
}

async function readClaims(db: Db, shopId: string, key: MappedKey): Promise<ClaimView[]> {
  const { rows } = await db.query<{ order_id: string; units: number; state: string; updated_at: Date }>(
    `SELECT c.order_id, sum(c.claimed)::int AS units, r.state, max(c.updated_at) AS updated_at
       FROM claim_lines c JOIN reservations r USING (shop_id, order_id)
      WHERE c.shop_id = $1 AND c.sku = $2 AND c.location_id = $3 AND c.claimed > 0
      GROUP BY c.order_id, r.state ORDER BY max(c.updated_at), c.order_id`,
    [shopId, key.sku, key.locationId],
  );
  return rows.map((r) => ({ orderId: r.order_id, units: r.units, state: r.state, updatedAt: r.updated_at.toISOString() }));
}

export async function recentWrites(db: Db, shopId: string, key: { sku: string; locationId: string }, limit: number): Promise<WriteView[]> {
  const { rows } = await db.query<{ at: Date; trigger: string; version: string | null; ats: number | null; previous_shopify: number | null; delta: number | null; outcome: string; error_code: string | null }>(
    `SELECT at, trigger, version::text, ats, previous_shopify, delta, outcome, error_code FROM audit_log
      WHERE shop_id = $1 AND sku = $2 AND location_id = $3 ORDER BY id DESC LIMIT $4`,
    [shopId, key.sku, key.locationId, limit],
  );
  return rows.map((r) => ({ at: r.at.toISOString(), trigger: r.trigger, version: r.version, ats: r.ats, previousShopify: r.previous_shopify, delta: r.delta, outcome: r.outcome, errorCode: r.error_code }));
}

async function readInFlight(deps: ExplainDeps, shopId: string, key: MappedKey, pending: Promise<PendingKey[]>): Promise<InFlightView> {
  const guard = await inspectGuard(deps.redis, { shopId, sku: key.sku, locationId: key.locationId });
  const view: InFlightView = {
    dirty: null,
    lease: guard.lease,
    guard: { version: guard.version, quantity: guard.quantity, lastSeenShopify: guard.lastSeenShopify, lastSeenDoubtful: guard.lastSeenDoubtful },
  };
  try {
    const entry = (await pending).find((p) => p.key.locationId === key.locationId);
    if (entry) view.dirty = { triggers: entry.triggers, since: entry.since === undefined ? null : new Date(entry.since).toISOString() };
  } catch (err) {
    view.dirtyUnknown = (err as Error).message;
  }
  return view;
}

/** The shop's refresh workflow's pending keys of one SKU; none when the workflow is not running. */
async function pendingKeys(temporal: Client, shopId: string, sku: string): Promise<PendingKey[]> {
  const handle = temporal.workflow.getHandle(workflowIds.refresh(shopId));
  try {
    const d = await timeout(handle.describe(), 'Temporal');
    if (d.status.name !== 'RUNNING') return [];
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return [];
    throw err;
  }
  return timeout(handle.query<PendingKey[], [string]>('pendingKeys', sku), `the refresh workflow of ${shopId} (is a worker running?)`);
}

/**
 * Units Shopify committed to orders whose claim we do not hold yet, as the refresh subtracts them
 * (src/activities/shopify-unclaimed.ts): from the committed reading kept in the key's guard hash (at most
 * COMMITTED_READING_TTL_MS old) less what our Shopify-origin claims hold at the key. 0 when no reading is kept.
 * A reading our claims released units since is not trusted by the refresh, which reads Shopify again: so is
 * Shopify's `committed` now here.
 */
async function readUnclaimed(deps: ExplainDeps, shopId: string, key: MappedKey, committedNow: Promise<number | undefined>): Promise<{ units: number; from: string; ageSeconds: number | null }> {
  const reading = await readCommitted(deps.redis, shopId, key);
  if (reading === undefined) return { units: 0, from: 'no Shopify order waiting for its claim (no committed reading kept)', ageSeconds: null };
  const held = (await heldForShopifyOrders(deps.db, shopId, [key])).get(skuLocationKey(key)) ?? 0;
  if (readingOutlived(reading, held)) {
    const now = await committedNow;
    const released = `our Shopify-order claims released ${reading.heldBefore! - held} unit(s) since the kept reading (committed ${reading.committed}), so the next refresh reads Shopify again`;
    if (now === undefined) return { units: unclaimedUnits(reading.committed, reading.heldBefore!), from: `${released}; Shopify could not be read here, so this counts the reading against what the claims held when it was taken`, ageSeconds: null };
    return { units: unclaimedUnits(now, held), from: `${released}: Shopify committed ${now} now, our claims hold ${held}`, ageSeconds: 0 };
  }
  return {
    units: unclaimedUnits(reading.committed, held),
    from: `Shopify committed ${reading.committed}, our Shopify-order claims hold ${held}: the difference is orders whose webhook we have not handled yet`,
    ageSeconds: Math.max(0, Math.round((Date.now() - reading.at) / 1000)),
  };
}

/**
 * Why a number is what it is (`inventory-sync explain`, GET /explain/:shop/:sku): for each location of the SKU
 * (or the one asked), ATS with every component, its source and its age; the open claims by order id (never
 * anything about the customer); the buffer and how it was derived; Shopify's `available` and `committed` now;
 * the last writes from the audit log; and what is in flight (dirty in the refresh queue, or leased in the guard).
 * Components are read live, as a refresh would read them now; nothing here is cached or written.
 */
export async function explainSku(deps: ExplainDeps, shopId: string, sku: string, locationId?: string, opts: { writes?: number } = {}): Promise<KeyExplanation[]> {
  const keys = await resolveKeys(deps.db, deps.config, shopId, sku, locationId);
  const buffers = deps.config.inventory_sync.safety_buffers;
  const writes = Math.max(1, Math.min(opts.writes ?? DEFAULT_EXPLAIN_WRITES, 500));
  const pending = pendingKeys(deps.temporal, shopId, sku);
  pending.catch(() => undefined);
  const shopifyLevels = timeout(
    deps.shopify(shopId).readLevels(keys.map((k) => ({ inventoryItemId: k.inventoryItemId, locationId: k.shopifyLocationId })), ['available', 'committed'], { deadlineMs: Date.now() + PART_TIMEOUT_MS }),
    'Shopify',
  );
  shopifyLevels.catch(() => undefined);
  const sales = bufferStrategyOf(buffers, sku) === 'velocity_based' ? (await dailySales(deps.db, shopId, [sku], buffers.velocity.window_days)).get(sku) : undefined;

  return Promise.all(
    keys.map(async (key) => {
      const [readings, claims, history, inFlight, unclaimed] = await Promise.all([
        readSources(deps, shopId, key),
        readClaims(deps.db, shopId, key),
        recentWrites(deps.db, shopId, key, writes),
        readInFlight(deps, shopId, key, pending),
        // Settles either way: a Shopify that cannot be read must not leave a rejection nobody awaits (it would end the process).
        readUnclaimed(deps, shopId, key, shopifyLevels.then((levels) => levels.get(`${key.inventoryItemId}|${key.shopifyLocationId}`)?.committed, () => undefined)),
      ]);
      const byRole = (role: string) => readings.filter((r) => r.role === role);
      const sum = (role: string) => byRole(role).reduce((a, r) => a + (r.units ?? 0), 0);
      const oldest = (rs: SourceReading[]) => rs.reduce<number | null>((a, r) => (r.ageSeconds === null ? a : Math.max(a ?? 0, r.ageSeconds)), null);
      const erpKnown = byRole('erp').some((r) => r.units !== null);
      const failed = readings.filter((r) => r.error !== undefined);
      const erpOnHand = sum('erp');
      const openClaims = claims.reduce((a, c) => a + c.units, 0);
      const buffer = explainSafetyBuffer(buffers, { sku, erpOnHand, ...(sales ? { dailySales: sales } : {}) });
      const components: AtsComponents = { erpOnHand, wmsAllocated: sum('wms'), posPending: sum('pos'), openClaims, safetyBuffer: buffer.units, shopifyUnclaimed: unclaimed.units };
      const roleView = (name: Exclude<keyof AtsComponents, 'shopifyUnclaimed'>, role: string): ComponentView => ({
        name,
        units: components[name],
        from: byRole(role).map((r) => r.source).join(' + ') || `no ${role} source configured`,
        sources: byRole(role),
        ageSeconds: oldest(byRole(role)),
      });
      const lastClaim = claims.at(-1);
      let shopify: KeyExplanation['shopify'] = { available: null, committed: null, inventoryItemId: key.inventoryItemId, locationId: key.shopifyLocationId };
      try {
        const level = (await shopifyLevels).get(`${key.inventoryItemId}|${key.shopifyLocationId}`);
        shopify = { ...shopify, available: level?.available ?? null, committed: level?.committed ?? null };
      } catch (err) {
        shopify.error = (err as Error).message;
      }
      const explanation: KeyExplanation = {
        shopId,
        sku,
        locationId: key.locationId,
        ats: erpKnown && failed.length === 0 ? computeAts(components) : null,
        formula: ATS_FORMULA,
        components: [
          roleView('erpOnHand', 'erp'),
          roleView('wmsAllocated', 'wms'),
          roleView('posPending', 'pos'),
          {
            name: 'openClaims',
            units: openClaims,
            from: `${claims.length} open order claim(s) not yet allocated by the WMS`,
            ageSeconds: lastClaim ? Math.max(0, Math.round((Date.now() - Date.parse(lastClaim.updatedAt)) / 1000)) : null,
          },
          { name: 'safetyBuffer', units: buffer.units, from: buffer.rule },
          { name: 'shopifyUnclaimed', units: unclaimed.units, from: unclaimed.from, ageSeconds: unclaimed.ageSeconds },
        ],
        claims,
        buffer,
        shopify,
        writes: history,
        inFlight,
        explainedAt: new Date().toISOString(),
      };
      if (failed.length > 0) explanation.note = `${failed.map((r) => `${r.source}: ${r.error}`).join('; ')}: a refresh now would fail and write nothing (a missing component is never read as zero)`;
      else if (!erpKnown) explanation.note = 'no ERP has a record of this key: its on-hand is unknown, so refresh writes nothing for it';
      return explanation;
    }),
  );
}
