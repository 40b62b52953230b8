import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/pool.js';
import type { SkuLocation } from '../domain/sku-location.js';
import type { CallBounds, ClientLogger, EntryResult, LevelPair, LevelQuantities, SetAvailableEntry, SetAvailableOptions } from '../shopify/client/types.js';
import type { SourceAdapter } from '../sources/adapter.js';
import type { AttemptScope } from './attempt-scope.js';
import type { RefreshRacePoints } from './race-points.js';

/** What refresh needs from Shopify; the budget-aware client implements it. */
export interface ShopifyInventoryPort {
  setAvailable(entries: SetAvailableEntry[], opts: SetAvailableOptions): Promise<EntryResult[]>;
  readLevels(pairs: LevelPair[], names?: string[], bounds?: CallBounds): Promise<Map<string, LevelQuantities>>;
  /** When present, a cold start learns the shop's quantities from one bulk export (shopify-warmup.ts). */
  runBulkQuery?(query: string): AsyncIterable<Record<string, unknown>>;
}

export interface RefreshDeps {
  db: Db;
  redis: Redis;
  config: Config;
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyInventoryPort;
  /** Test-only hooks that force interleavings; see race-points.ts. */
  racePoints?: RefreshRacePoints;
  /** Write lease per key (default GUARD_LEASE_MS); renewed while a Shopify write is in flight. */
  leaseMs?: number;
  /** Where dropped and abandoned writes are logged (default: a pino logger). */
  logger?: ClientLogger;
  /** Which attempt this is and its abort signal; by default from the Temporal activity context (attempt-scope.ts). */
  openAttempt?: () => AttemptScope;
  /** Told how long each step of a refresh took (bench/refresh prints the per-flush breakdown). */
  profile?: RefreshProfiler;
  /**
   * Hands keys back to the shop's refresh workflow (the worker's markDirty): a key whose compare stayed stale for
   * every round is refreshed again after this flush instead of waiting for its next event.
   */
  retryLater?: (input: { shopId: string; keys: SkuLocation[]; trigger: string }) => Promise<void>;
}

/**
 * The steps of one `refreshKeys` a profiler is told about: `hop` is the wait between the workflow scheduling the
 * activity and a worker starting it; `mappings`, `version` (the sequence and the retry memo), `compare` (Shopify's
 * last-seen quantities, or a read), `sources` (components and claims), `guard` (the Lua guard with leases),
 * `shopify` (the write calls, fence included), `record` (audit rows and last-seen), `release` (leases).
 */
export type RefreshPhase = 'hop' | 'mappings' | 'version' | 'compare' | 'sources' | 'reread' | 'guard' | 'shopify' | 'record' | 'release' | 'total';
export type RefreshProfiler = (phase: RefreshPhase, ms: number, keys: number) => void;

export interface RefreshInput {
  shopId: string;
  keys: SkuLocation[];
  /** Why: 'source_event', 'claim', 'delta_sync', 'reconciliation', ... (recorded in the audit log). */
  trigger: string;
  /**
   * Every kept `committed` reading of these keys is taken again before it is used, not only those our claims
   * outlived (shopify-unclaimed.ts). Reconciliation asks this: its missed-order step has just brought the claims up
   * to date, and a reading kept from before may count an order Shopify has cancelled since without our ever claiming
   * it (our claims did not move, so the reading looked valid): its correction wrote ATS less that order again.
   */
  rereadReadings?: boolean;
  /**
   * The version of the first computation, when the caller took it (it must be taken before any source is read).
   * Absent: refresh takes one, and a Temporal retry of the same activity reuses it.
   */
  version?: string;
  /**
   * Counts only: `written` comes back empty. The shop's refresh workflow asks for this (runs after patch
   * 'refresh-small-runs'): it never reads the map, and an activity's result is stored in the workflow's history, where
   * 1,000 keys' ATS made ~18% of a run's bytes, and so of what a worker replays after an eviction.
   */
  countsOnly?: boolean;
}

export interface RefreshSummary {
  version: string;
  applied: number;
  unchanged: number;
  skipped: number;
  failed: number;
  /** ATS written per key (`sku|location`), for callers and tests. */
  written: Record<string, number>;
}

export interface RefreshSettings {
  coalesceWindowMs: number;
}

/** What the steps of one refresh share: the injected dependencies with their defaults filled in. */
export interface RefreshRuntime {
  deps: RefreshDeps;
  race: RefreshRacePoints;
  leaseMs: number;
  logger: ClientLogger;
  /** Runs a step and tells the profiler (if any) how long it took. */
  timed: <T>(phase: RefreshPhase, keys: number, step: () => Promise<T>) => Promise<T>;
}

/** The runtime's `timed`: a plain call without a profiler. */
export function timerOf(profile: RefreshProfiler | undefined): RefreshRuntime['timed'] {
  if (!profile) return (_phase, _keys, step) => step();
  return async (phase, keys, step) => {
    const started = performance.now();
    try {
      return await step();
    } finally {
      profile(phase, performance.now() - started, keys);
    }
  };
}

/** The attempt's bounds for a Shopify call made on its behalf. */
export function boundsOf(scope: AttemptScope, context?: Record<string, unknown>): CallBounds {
  return { signal: scope.signal, ...(scope.deadlineMs === undefined ? {} : { deadlineMs: scope.deadlineMs }), ...(context ? { context } : {}) };
}
