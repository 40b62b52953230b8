import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import { readComponents } from '../sources/components.js';
import { computeAts, type AtsComponents } from '../domain/ats.js';
import type { SkuLocation } from '../domain/sku-location.js';
import type { SourceAdapter } from '../sources/adapter.js';

/** What other channels read: a key's ATS, how it was computed, and how old the answer is. */
export interface AtsReading {
  sku: string;
  locationId: string;
  /** null when no ERP knows the key: its on-hand is unknown, so nothing is sellable through us. */
  ats: number | null;
  components: AtsComponents | null;
  computedAt: string;
  /** True when served from the read cache (at most `aggregation.cache_ttl_seconds` old). */
  cached: boolean;
}

/** Test hooks that force interleavings (see src/activities/race-points.ts for the refresh's own). */
export interface AtsReaderRacePoints {
  /** Runs inside the one computation of a key, before its sources are read. */
  beforeCompute?(point: { shopId: string; key: SkuLocation }): Promise<void>;
}

export interface AtsReaderDeps {
  db: Db;
  config: Config;
  sources: SourceAdapter[];
  racePoints?: AtsReaderRacePoints;
  clock?: () => number;
}

/** Entries kept at most: a scan of a large catalogue must not grow the server's memory without bound. */
const MAX_CACHED = 10_000;

/**
 * The read side of ATS, for other channels (GET /ats). Concurrent requests for one key share one computation
 * (single flight), and an answer is cached for `aggregation.cache_ttl_seconds` (0: never cached).
 *
 * This cache is for reading only. The refresh that writes Shopify (src/activities/refresh*.ts) never goes through
 * it: it reads its components with `readComponents` (src/sources/components.ts) after taking its version, so a
 * write always reflects what the sources said after the event that triggered it (test/reads/ats-read.test.ts).
 */
export function createAtsReader(deps: AtsReaderDeps) {
  const clock = deps.clock ?? Date.now;
  const ttlMs = deps.config.inventory_sync.aggregation.cache_ttl_seconds * 1000;
  const inflight = new Map<string, Promise<AtsReading>>();
  const cache = new Map<string, { reading: AtsReading; expiresAt: number }>();
  let computations = 0;
  let reads = 0;

  async function compute(shopId: string, key: SkuLocation): Promise<AtsReading> {
    computations++;
    await deps.racePoints?.beforeCompute?.({ shopId, key });
    const result = (await readComponents(deps, shopId, [key])).values().next().value;
    const components = result?.status === 'ok' ? result.components : null;
    return { sku: key.sku, locationId: key.locationId, ats: components ? computeAts(components) : null, components, computedAt: new Date(clock()).toISOString(), cached: false };
  }

  function remember(id: string, reading: AtsReading): void {
    if (ttlMs <= 0) return;
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(id, { reading, expiresAt: clock() + ttlMs });
  }

  return {
    async read(shopId: string, key: SkuLocation): Promise<AtsReading> {
      reads++;
      const id = `${shopId}|${key.sku}|${key.locationId}`;
      const hit = cache.get(id);
      if (hit && hit.expiresAt > clock()) return { ...hit.reading, cached: true };
      if (hit) cache.delete(id);
      let flight = inflight.get(id);
      if (!flight) {
        flight = compute(shopId, key).finally(() => inflight.delete(id));
        // Stored before anyone awaits it, so every request arriving meanwhile joins this one.
        inflight.set(id, flight);
        void flight.then((reading) => remember(id, reading), () => undefined);
      }
      return flight;
    },
    /** Computations started so far (each one reads every source once). */
    computations: () => computations,
    /** Reads asked for so far (answered from the cache, a computation of their own, or one they joined). */
    reads: () => reads,
    /** Keys being computed right now. */
    inFlight: () => inflight.size,
  };
}

export type AtsReader = ReturnType<typeof createAtsReader>;
