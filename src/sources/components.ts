import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import type { AtsComponents } from '../domain/ats.js';
import { Errors } from '../domain/errors.js';
import { safetyBufferUnits } from '../domain/safety-buffer.js';
import type { SourceAdapter } from './adapter.js';
import { PostgresSnapshotSource } from './postgres-snapshots.js';
import { probe } from '../db/key-probe.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';

export type ComponentsResult =
  | { status: 'ok'; components: AtsComponents }
  /** No ERP has a record of the key: we do not know its on-hand, so nothing may be written for it. */
  | { status: 'no_on_hand' };

/** One source's answer, bounded by the timeout: a timeout or failure rejects with the source's name. */
export async function withTimeout<T>(source: SourceAdapter, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected before the abort: an adapter that answers when aborted (with whatever it had) must not win the
      // race, or a component it never finished reading would count as an answer.
      reject(Errors.SourceTimeout(`source "${source.name}" (${source.role}) did not answer within ${timeoutMs} ms`, { source: source.name }));
      controller.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err as { code: string }).code === Errors.SourceTimeout.code) throw err;
    throw Errors.SourceFailed(`source "${source.name}" (${source.role}) failed: ${(err as Error).message}`, { source: source.name }, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The open claims and the readings of the sources kept in our own `source_snapshots` (pushed ones), in one
 * statement and so in one snapshot. A WMS total converts claims (claimed -> allocated) in the transaction that
 * records it (src/db/claim-conversion.ts): read apart, a refresh could see the claims converted and the total not
 * yet, ATS too high by those units (an oversell until the next refresh), or one source's change and not another's
 * committed before it. Per key: its claims (source null, only where units are claimed) and a row per pushed source
 * with a reading. Each reading is one `LIMIT 1` probe by key and source (db/key-probe.ts) and the claims an
 * aggregate, so the planner keeps one index probe per key and source whatever its statistics say (a table just
 * filled, not analysed yet, was read in full per key otherwise: the cold start of bench/refresh took twice as long).
 */
export async function claimsAndStoredReadings(db: Pick<Db, 'query'>, shopId: string, keys: SkuLocation[], sources: string[]): Promise<{ claims: Map<string, number>; readings: Map<string, Map<string, number>> }> {
  const { rows } = await db.query<{ sku: string; location_id: string; source: string | null; quantity: number }>(
    `SELECT k.sku, k.location_id, x.source, x.quantity
       FROM unnest($2::text[], $3::text[]) AS k(sku, location_id)
       JOIN LATERAL (
         SELECT NULL::text AS source, sum(claimed)::int AS quantity FROM claim_lines
          WHERE shop_id = $1 AND sku = k.sku AND location_id = k.location_id AND claimed > 0
         HAVING count(*) > 0
         UNION ALL
         SELECT src.name, s.quantity
           FROM unnest($4::text[]) AS src(name)
           JOIN LATERAL (${probe('source_snapshots', '$1', 'source = src.name')}) s ON true
       ) x ON true`,
    [shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId), sources],
  );
  const claims = new Map<string, number>();
  const readings = new Map<string, Map<string, number>>(sources.map((name) => [name, new Map()]));
  for (const r of rows) {
    const id = skuLocationKey({ sku: r.sku, locationId: r.location_id });
    if (r.source === null) claims.set(id, r.quantity);
    else readings.get(r.source)?.set(id, r.quantity);
  }
  return { claims, readings };
}

export async function dailySales(db: Db, shopId: string, skus: string[], windowDays: number): Promise<Map<string, number[]>> {
  const { rows } = await db.query<{ sku: string; units: number[] }>(
    `SELECT d.sku, array_agg(coalesce(s.units, 0) ORDER BY d.day)::int[] AS units
       FROM (SELECT sku, day::date FROM unnest($2::text[]) AS sku,
             generate_series(current_date - ($3::int - 1), current_date, interval '1 day') AS day) d
       LEFT JOIN sales_daily s ON s.shop_id = $1 AND s.sku = d.sku AND s.day = d.day
      GROUP BY d.sku`,
    [shopId, skus, windowDays],
  );
  return new Map(rows.map((r) => [r.sku, r.units]));
}

/**
 * Reads every component for a batch of keys of one shop: all sources in parallel, each in one bulk call, within
 * `parallel_fetch_timeout_ms` (the sources kept in our database with the claims, in one statement). Any source
 * failing fails the whole batch (never a missing component read as zero).
 */
export async function readComponents(
  deps: { db: Db; config: Config; sources: SourceAdapter[] },
  shopId: string,
  keys: SkuLocation[],
): Promise<Map<string, ComponentsResult>> {
  const { aggregation, safety_buffers: buffers } = deps.config.inventory_sync;
  const timeoutMs = aggregation.parallel_fetch_timeout_ms;
  const velocity = buffers.strategy === 'velocity_based' || Object.values(buffers.overrides).some((o) => o.strategy === 'velocity_based');
  // Sources kept in our database are read with the claims, in one statement (claimsAndStoredReadings); the others
  // (http, sql) are asked in parallel, each bounded by the timeout.
  const stored = deps.sources.filter((s) => s instanceof PostgresSnapshotSource && s.keptIn(deps.db));
  const remote = deps.sources.filter((s) => !stored.includes(s));
  const [fetched, local, sales] = await Promise.all([
    Promise.all(remote.map((s) => withTimeout(s, timeoutMs, (signal) => s.getComponents(shopId, keys, signal)))),
    claimsAndStoredReadings(deps.db, shopId, keys, stored.map((s) => s.name)),
    velocity ? dailySales(deps.db, shopId, [...new Set(keys.map((k) => k.sku))], buffers.velocity.window_days) : Promise.resolve(new Map<string, number[]>()),
  ]);
  const answers = new Map<SourceAdapter, Map<string, number>>([
    ...remote.map((s, i) => [s, fetched[i]!] as const),
    ...stored.map((s) => [s, local.readings.get(s.name) ?? new Map<string, number>()] as const),
  ]);
  const claims = local.claims;
  const result = new Map<string, ComponentsResult>();
  for (const key of keys) {
    const id = skuLocationKey(key);
    const sum = (role: string) => deps.sources.reduce((acc, s) => (s.role === role ? acc + (answers.get(s)?.get(id) ?? 0) : acc), 0);
    const erpKnown = deps.sources.some((s) => s.role === 'erp' && answers.get(s)?.has(id));
    if (!erpKnown) {
      result.set(id, { status: 'no_on_hand' });
      continue;
    }
    const erpOnHand = sum('erp');
    result.set(id, {
      status: 'ok',
      components: {
        erpOnHand,
        wmsAllocated: sum('wms'),
        posPending: sum('pos'),
        openClaims: claims.get(id) ?? 0,
        safetyBuffer: safetyBufferUnits(buffers, { sku: key.sku, erpOnHand, dailySales: sales.get(key.sku) }),
      },
    });
  }
  return result;
}
