import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { TERMINAL_STATES } from '../domain/reservation-model.js';
import type { BucketModel } from '../shopify/client/budget.js';
import type { CallBounds, LevelPair, LevelQuantities } from '../shopify/client/types.js';
import { requireShop } from './lookup.js';
import type { HistoryPoint, ShopHealth } from './views.js';

export type { HistoryPoint, ShopHealth } from './views.js';

/** What the console reads Shopify through: a level read, and the shop's cost bucket as Shopify last reported it. */
export interface ShopifyHealthPort {
  readLevels(pairs: LevelPair[], names?: readonly string[], bounds?: CallBounds): Promise<Map<string, LevelQuantities>>;
  budget?: { model(): Promise<BucketModel | undefined> };
}

export interface ConsoleDeps {
  db: Db;
  config: Config;
  shopify: (shopId: string) => ShopifyHealthPort;
}

/** A bucket older than this is refreshed by one small level read before the console shows it. */
const BUCKET_FRESH_MS = 60_000;

async function bucketOf(deps: ConsoleDeps, shopId: string): Promise<ShopHealth['throttle']['bucket']> {
  const port = deps.shopify(shopId);
  let model = await port.budget?.model();
  if (!model || Date.now() - model.observedAt > BUCKET_FRESH_MS) {
    const { rows } = await deps.db.query<{ inventory_item_id: string; shopify_location_id: string }>(
      'SELECT inventory_item_id, shopify_location_id FROM mappings WHERE shop_id = $1 LIMIT 1',
      [shopId],
    );
    if (rows[0]) {
      // The cheapest call we make: one level. Its cost answer carries the bucket.
      await port.readLevels([{ inventoryItemId: rows[0].inventory_item_id, locationId: rows[0].shopify_location_id }], ['available'], { deadlineMs: Date.now() + 3000 }).catch(() => undefined);
      model = await port.budget?.model();
    }
  }
  return model ? { currentlyAvailable: Math.round(model.currentlyAvailable), maximumAvailable: model.maximumAvailable, restoreRate: model.restoreRate, observedAt: new Date(model.observedAt).toISOString() } : null;
}

/** Per-shop sync health for the console: every figure from PostgreSQL, except the bucket (Shopify's answer). */
export async function shopHealth(deps: ConsoleDeps, shopId: string): Promise<ShopHealth> {
  requireShop(deps.config, shopId);
  const db = deps.db;
  const [mapped, last, outcomes, lag, run, reservations, alerts, bucket] = await Promise.all([
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM mappings WHERE shop_id = $1', [shopId]),
    db.query<{ at: Date; sku: string; location_id: string; outcome: string; age: number }>(
      `SELECT at, sku, location_id, outcome, extract(epoch FROM now() - at)::float8 AS age FROM audit_log
        WHERE shop_id = $1 AND outcome IN ('applied', 'replayed') ORDER BY id DESC LIMIT 1`,
      [shopId],
    ),
    db.query<{ outcome: string; error_code: string | null; n: number }>(
      `SELECT outcome, error_code, count(*)::int AS n FROM audit_log
        WHERE shop_id = $1 AND at > now() - interval '1 hour' GROUP BY outcome, error_code`,
      [shopId],
    ),
    db.query<{ samples: number; p50: number | null; p95: number | null; max: number | null }>(
      // The latest source-triggered write of each key written in the last hour, against the newest reading
      // recorded before it: the measure of isync_event_to_shopify_seconds, read through indexed lookups only.
      `WITH recent AS (
         SELECT DISTINCT ON (a.sku, a.location_id) a.at, a.sku, a.location_id FROM audit_log a
          WHERE a.shop_id = $1 AND a.outcome = 'applied' AND a.at > now() - interval '1 hour'
            AND a.trigger ~ '(^|,)(source_event|delta_sync|full_sync)'
          ORDER BY a.sku, a.location_id, a.id DESC
          LIMIT 2000
       ), lags AS (
         SELECT extract(epoch FROM r.at - s.recorded)::float8 AS seconds FROM recent r
          CROSS JOIN LATERAL (SELECT max(x.updated_at) AS recorded FROM source_snapshots x
                               WHERE x.shop_id = $1 AND x.sku = r.sku AND x.location_id = r.location_id AND x.updated_at <= r.at) s
          WHERE s.recorded IS NOT NULL
       )
       SELECT count(*)::int AS samples, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95, max(seconds) AS max FROM lags`,
      [shopId],
    ),
    db.query<{ id: string; started_at: Date; finished_at: Date | null; status: string; keys_checked: number; drifted: number; corrected: number; drift_units: number }>(
      `SELECT r.id::text, r.started_at, r.finished_at, r.status, r.keys_checked, r.drifted, r.corrected,
              (SELECT coalesce(sum(abs(x.drift)), 0)::int FROM reconciliation_rows x WHERE x.run_id = r.id) AS drift_units
         FROM reconciliation_runs r WHERE r.shop_id = $1 ORDER BY r.id DESC LIMIT 1`,
      [shopId],
    ),
    db.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM reservations WHERE shop_id = $1 AND NOT (state = ANY($2::text[])) GROUP BY state ORDER BY state`,
      [shopId, TERMINAL_STATES],
    ),
    db.query<{ id: string; at: Date; kind: string; subject: string; details: Record<string, unknown> }>(
      'SELECT id::text, at, kind, subject, details FROM alerts WHERE shop_id = $1 ORDER BY id DESC LIMIT 20',
      [shopId],
    ),
    bucketOf(deps, shopId).catch(() => null),
  ]);
  const worst = run.rows[0]
    ? (
        await db.query<{ sku: string; location_id: string; shopify_qty: number | null; ats: number | null; drift: number; corrected: boolean }>(
          'SELECT sku, location_id, shopify_qty, ats, drift, corrected FROM reconciliation_rows WHERE run_id = $1 AND drift <> 0 ORDER BY abs(drift) DESC, sku LIMIT 10',
          [run.rows[0].id],
        )
      ).rows
    : [];
  const writesLastHour: Record<string, number> = {};
  let throttledWritesLastHour = 0;
  for (const o of outcomes.rows) {
    writesLastHour[o.outcome] = (writesLastHour[o.outcome] ?? 0) + o.n;
    if (o.error_code === 'ISYNC_SHOPIFY_THROTTLED') throttledWritesLastHour += o.n;
  }
  const l = lag.rows[0];
  const r = run.rows[0];
  const lw = last.rows[0];
  const state: ShopHealth['throttle']['state'] =
    throttledWritesLastHour > 0 ? 'throttled' : !bucket ? 'unknown' : bucket.currentlyAvailable < bucket.maximumAvailable * 0.1 ? 'low' : 'ok';
  return {
    shopId,
    domain: deps.config.shops.find((s) => s.id === shopId)!.domain,
    mappedKeys: mapped.rows[0]?.n ?? 0,
    lastWrite: lw ? { at: lw.at.toISOString(), sku: lw.sku, locationId: lw.location_id, outcome: lw.outcome, ageSeconds: Math.round(lw.age) } : null,
    writesLastHour,
    lag: l && l.samples > 0 ? { samples: l.samples, p50Seconds: round2(l.p50!), p95Seconds: round2(l.p95!), maxSeconds: round2(l.max!) } : null,
    throttle: { bucket, throttledWritesLastHour, state },
    reconciliation: r
      ? {
          startedAt: r.started_at.toISOString(),
          finishedAt: r.finished_at?.toISOString() ?? null,
          status: r.status,
          keysChecked: r.keys_checked,
          drifted: r.drifted,
          corrected: r.corrected,
          driftUnits: r.drift_units,
          worst: worst.map((w) => ({ sku: w.sku, locationId: w.location_id, shopify: w.shopify_qty, ats: w.ats, drift: w.drift, corrected: w.corrected })),
        }
      : null,
    openReservations: Object.fromEntries(reservations.rows.map((x) => [x.state, x.n])),
    alerts: alerts.rows.map((a) => ({ id: Number(a.id), at: a.at.toISOString(), kind: a.kind, subject: a.subject, details: a.details })),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export async function keyHistory(db: Db, shopId: string, key: { sku: string; locationId: string }, limit = 500): Promise<HistoryPoint[]> {
  const { rows } = await db.query<{ at: Date; ats: number | null; previous_shopify: number | null; outcome: string; trigger: string }>(
    `SELECT at, ats, previous_shopify, outcome, trigger FROM (
       SELECT id, at, ats, previous_shopify, outcome, trigger FROM audit_log
        WHERE shop_id = $1 AND sku = $2 AND location_id = $3 ORDER BY id DESC LIMIT $4) w ORDER BY id`,
    [shopId, key.sku, key.locationId, limit],
  );
  return rows.map((r) => ({
    at: r.at.toISOString(),
    ats: r.ats,
    shopifyBefore: r.previous_shopify,
    shopifyAfter: r.outcome === 'applied' || r.outcome === 'replayed' || r.outcome === 'unchanged' ? (r.ats ?? r.previous_shopify) : r.previous_shopify,
    outcome: r.outcome,
    trigger: r.trigger,
  }));
}
