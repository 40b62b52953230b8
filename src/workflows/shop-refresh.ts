import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { defaultActivityOptions, refreshActivityOptions } from './retry-policy.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { KEYS_DIRTY_SIGNAL, PENDING_QUERY } from '../domain/keys.js';

export interface DirtyKeys {
  keys: SkuLocation[];
  trigger: string;
}

export interface PendingKey {
  key: SkuLocation;
  triggers: string[];
  /** Workflow time (ms) when the key became pending: the coalescing window counts from the oldest one. */
  since?: number;
}

export interface ShopRefreshState {
  shopId: string;
  /** Keys waiting for the next flush, by `sku|location`, with the triggers that dirtied them. */
  pending: [string, PendingKey][];
  /** Carried across continue-as-new; read from the configuration by the first run. */
  coalesceWindowMs?: number;
  /** Pause after a flush failed before its keys are tried again (the activity has retried by then). */
  failureBackoffMs?: number;
}

export interface ShopRefreshView {
  pending: number;
  flushes: number;
  keysFlushed: number;
  failedFlushes: number;
}

export const keysDirtySignal = defineSignal<[DirtyKeys]>(KEYS_DIRTY_SIGNAL);
/** Number of keys waiting for a flush. */
export const pendingQuery = defineQuery<number>(PENDING_QUERY);
/** The pending keys of one SKU (at most 250), with their triggers: what `explain` shows as dirty. */
export const pendingKeysQuery = defineQuery<PendingKey[], [string]>('pendingKeys');
/** Counters of this run (they restart at continue-as-new). */
export const shopRefreshStateQuery = defineQuery<ShopRefreshView>('shopRefreshState');

/** One Shopify call takes at most 250 quantities. */
export const FLUSH_BATCH = 250;
/** Flushes in flight at once (runs started after patch 'refresh-concurrent-flushes'), each on keys of its own. */
export const MAX_CONCURRENT_FLUSHES = 4;
/**
 * Pending keys a run carries over continue-as-new at most (runs after patch 'refresh-concurrent-flushes'): the
 * carried state is the new run's input, which Temporal limits (2 MB by default; ~100 bytes a key): 100,000 and
 * then 20,000 pending keys were refused and the workflow stuck. With more pending, the run keeps flushing and
 * continues as new once it is under this.
 */
export const MAX_CARRIED_KEYS = 5_000;
/**
 * And at most this many bytes of them (runs after patch 'refresh-small-runs'): 5,000 keys of 200-character SKUs are
 * ~2.4 MB, and Temporal refused that continue-as-new ("Input exceeds size limit") on every retry of the task, so the
 * shop's refresh stopped. The estimate is the carried entry's JSON: the key twice (id and key) plus its triggers.
 * 400 kB stays under the SDK's 512 kB payload warning (~3,300 keys of ordinary SKUs).
 */
export const MAX_CARRIED_BYTES = 400_000;
/**
 * Keys one flush takes at most in runs started after patch 'refresh-large-flushes'. A backlog is spread over the
 * free flush slots (pending / free slots keys each, at least FLUSH_BATCH, at most this), and the activity
 * sends its keys as Shopify calls of 250 at once: 10,000 dirty keys cost 10 activities (each a Temporal round trip,
 * a version, one guard call and one audit statement), not 40. (2,500 was measured too: no faster on 2 cores.)
 */
export const MAX_FLUSH_KEYS = 1_000;
/**
 * A run's history size after which it continues as new (runs after patch 'refresh-small-runs'). What a worker
 * replays after an eviction is the run's whole history, and replay time grows with it (see the patch).
 */
export const RUN_HISTORY_BYTES = 1_000_000;
export const RUN_HISTORY_EVENTS = 2_000;
const DEFAULT_FAILURE_BACKOFF_MS = 5_000;

const { refreshKeys } = proxyActivities<Activities>({
  ...refreshActivityOptions,
  // A flush that keeps failing (a source down) hands its keys back to the queue instead of blocking the shop forever.
  retry: { ...defaultActivityOptions.retry, maximumAttempts: 5 },
});
const { refreshSettings } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds' });
const { coalesceDelay } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } });
/**
 * Windows up to this long are waited by the worker's clock, in the `coalesceDelay` activity (runs after patch
 * 'refresh-precise-window'): a Temporal timer shorter than ~1 s fires after ~1 s. Longer ones keep the timer.
 */
export const PRECISE_WINDOW_MAX_MS = 2_000;

/**
 * One long-running workflow per shop that coalesces dirty keys from events, claims, syncs and reconciliation.
 * A flush starts when 250 keys are pending or `coalesceWindowMs` after the first pending key arrived, so a
 * burst costs one computation and one write per key per flush. Up to MAX_CONCURRENT_FLUSHES flushes run at once
 * (runs after patch 'refresh-concurrent-flushes'), each on keys no other flush holds, so there is one computation
 * per key at a time; a backlog goes in flushes of up to MAX_FLUSH_KEYS (patch 'refresh-large-flushes'). A key
 * dirtied again during a flush is flushed again (its event may postdate the reads).
 */
export async function shopRefreshWorkflow(state: ShopRefreshState): Promise<void> {
  const pending = new Map(state.pending);
  const view: ShopRefreshView = { pending: 0, flushes: 0, keysFlushed: 0, failedFlushes: 0 };
  const add = (key: SkuLocation, triggers: string[], since = Date.now()) => {
    const id = skuLocationKey(key);
    const entry = pending.get(id);
    if (!entry) pending.set(id, { key, triggers: [...triggers], since });
    else for (const t of triggers) if (!entry.triggers.includes(t)) entry.triggers.push(t);
  };
  /** Keys wait at most the window, counted from the oldest pending one: keys that piled up during a flush go next. */
  const windowLeft = () => {
    let oldest = Infinity;
    for (const e of pending.values()) oldest = Math.min(oldest, e.since ?? 0);
    return oldest + coalesceWindowMs - Date.now();
  };
  /** `windowLeft` from the first pending key in insertion order, the oldest one but for keys a failed flush handed back. */
  const firstWindowLeft = () => {
    const first = pending.values().next();
    return first.done ? coalesceWindowMs : (first.value.since ?? 0) + coalesceWindowMs - Date.now();
  };
  /** About how many bytes `pending` takes as a continue-as-new input. */
  const carriedBytes = () => {
    let bytes = 0;
    for (const [id, e] of pending) {
      bytes += 2 * id.length + 64;
      for (const t of e.triggers) bytes += t.length + 3;
      if (bytes > MAX_CARRIED_BYTES) break;
    }
    return bytes;
  };
  setHandler(keysDirtySignal, ({ keys, trigger }) => {
    for (const key of keys) add(key, [trigger]);
  });
  setHandler(pendingQuery, () => pending.size);
  setHandler(pendingKeysQuery, (sku) => [...pending.values()].filter((e) => e.key.sku === sku).slice(0, FLUSH_BATCH));
  setHandler(shopRefreshStateQuery, () => ({ ...view, pending: pending.size }));

  const coalesceWindowMs = state.coalesceWindowMs ?? (await refreshSettings()).coalesceWindowMs;
  const failureBackoffMs = state.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS;

  /** Runs after patch 'refresh-small-runs' ask their flushes for counts only (RefreshInput.countsOnly). */
  let countsOnly = false;
  /** One flush of a batch; a failed one hands its keys back (or drops them, when retrying cannot help). */
  const flush = async (batch: [string, PendingKey][]) => {
    const triggers = [...new Set(batch.flatMap(([, e]) => e.triggers))].sort();
    view.flushes++;
    try {
      await refreshKeys({ shopId: state.shopId, keys: batch.map(([, e]) => e.key), trigger: triggers.join(','), ...(countsOnly ? { countsOnly } : {}) });
      view.keysFlushed += batch.length;
    } catch (err) {
      view.failedFlushes++;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      if (cause instanceof ApplicationFailure && cause.nonRetryable) {
        // Retrying cannot fix it (the activity audited why); keep the loop alive for the shop's other keys.
        log.error('refresh flush failed for good; keys dropped', { shopId: state.shopId, keys: batch.length, type: cause.type });
        return;
      }
      log.warn('refresh flush failed; keys go back to the queue', { shopId: state.shopId, keys: batch.length });
      for (const [, e] of batch) add(e.key, e.triggers, e.since);
      await sleep(failureBackoffMs);
    }
  };

  // Runs started before this patch flush one batch at a time. After it, up to MAX_CONCURRENT_FLUSHES batches are
  // in flight, each of keys no other flush holds (a key dirtied again while its flush runs waits for that flush):
  // one flush at a time left the pipeline waiting on round trips (issue 17: 0.15 of the bare client's rate).
  if (patched('refresh-concurrent-flushes')) {
    // After this patch a flush takes up to MAX_FLUSH_KEYS, and the coalescing window counts from the first pending
    // key in insertion order (O(1)) instead of scanning every pending key per flush, which made workflow tasks of
    // a 100,000-key backlog take seconds (issue 17). Keys handed back after a failed flush go to the end with
    // their old time: they wait at most one window more, after the failure backoff.
    const large = patched('refresh-large-flushes');
    // After this patch a run also continues as new once its history passes RUN_HISTORY_BYTES or RUN_HISTORY_EVENTS,
    // well before Temporal suggests it (4 MB / 4,096 events), and its flushes return counts only. A signal that
    // arrives while the continue-as-new task is in flight fails that task, the SDK evicts the run, and the next task
    // replays the whole history: 1.1 s for a 4.3 MB run at 1,000 events/s (bench/ingest, 2026-12-01), during which
    // every refresh signal of the shop waited. Small runs bound that replay.
    const small = patched('refresh-small-runs');
    countsOnly = small;
    // After this patch a coalescing wait of up to PRECISE_WINDOW_MAX_MS is kept by the coalesceDelay activity, not
    // a Temporal timer: the server fires a timer shorter than ~1 s after ~1 s (history.timerProcessorMaxTimeShift),
    // so the 200 ms window held a quiet shop's keys ~1 s (bench/ingest, 2026-12-01: the last events of a burst
    // reached Shopify 1 s after their commit, TIMER_STARTED -> TIMER_FIRED 1.00 s for a 200 ms wait).
    const precise = patched('refresh-precise-window');
    // After this patch a flush also takes the keys it would have left pending, when they are fewer than FLUSH_BATCH:
    // a signal of 256 keys went out as a flush of 250 at once and one of 6 a coalescing window later, and those 6
    // were the slowest of a burst to reach Shopify (bench/ingest, 2026-12-02: 0.4 s more). They are part of the same
    // burst; one more Shopify call in a flush that runs now costs less than a flush of their own later.
    const remainder = large && patched('refresh-take-remainder');
    /** Waits until 250 keys are pending or `ms` passed. */
    const coalesce = async (ms: number) => {
      if (!precise || ms > PRECISE_WINDOW_MAX_MS) {
        await condition(() => pending.size >= FLUSH_BATCH, ms);
        return;
      }
      let elapsed = false;
      // Not awaited: 250 keys end the wait first, and the delay's late completion changes nothing.
      void coalesceDelay(ms).then(
        () => void (elapsed = true),
        () => void (elapsed = true),
      );
      await condition(() => pending.size >= FLUSH_BATCH || elapsed);
    };
    /** Keys the next flush takes at most: a backlog spread over the free flushes, plus a remainder under FLUSH_BATCH. */
    const batchLimit = () => {
      if (!large) return FLUSH_BATCH;
      const spread = Math.min(MAX_FLUSH_KEYS, Math.max(FLUSH_BATCH, Math.ceil(pending.size / (MAX_CONCURRENT_FLUSHES - running))));
      return remainder && pending.size - spread < FLUSH_BATCH ? Math.min(MAX_FLUSH_KEYS, pending.size) : spread;
    };
    const waitLeft = large ? firstWindowLeft : windowLeft;
    const inFlight = new Set<string>();
    let running = 0;
    let finished = 0;
    for (;;) {
      const mayContinue = () => {
        const info = workflowInfo();
        const due = info.continueAsNewSuggested || (small && (info.historySize > RUN_HISTORY_BYTES || info.historyLength > RUN_HISTORY_EVENTS));
        return due && pending.size <= MAX_CARRIED_KEYS && (!small || carriedBytes() <= MAX_CARRIED_BYTES);
      };
      await condition(() => (pending.size > 0 && running < MAX_CONCURRENT_FLUSHES) || mayContinue());
      if (mayContinue()) {
        await condition(() => running === 0);
        await condition(allHandlersFinished);
        // Keys that arrived meanwhile may have taken it over the limit again: then flush on first.
        if (pending.size <= MAX_CARRIED_KEYS) {
          await continueAsNew<typeof shopRefreshWorkflow>({ shopId: state.shopId, pending: [...pending], coalesceWindowMs, failureBackoffMs });
        }
        continue;
      }
      const wait = waitLeft();
      if (pending.size < FLUSH_BATCH && wait > 0) await coalesce(wait);
      // O(batch + keys in flight): pending keys a running flush holds are skipped, never more than those.
      const batch: [string, PendingKey][] = [];
      const limit = batchLimit();
      for (const entry of pending) {
        if (inFlight.has(entry[0])) continue;
        batch.push(entry);
        if (batch.length === limit) break;
      }
      if (batch.length === 0) {
        // Every pending key is being flushed already: wait for one of those flushes to end.
        const seen = finished;
        await condition(() => finished !== seen);
        continue;
      }
      for (const [id] of batch) {
        pending.delete(id);
        inFlight.add(id);
      }
      running++;
      void flush(batch).finally(() => {
        for (const [id] of batch) inFlight.delete(id);
        running--;
        finished++;
      });
    }
  }

  for (;;) {
    await condition(() => pending.size > 0 || workflowInfo().continueAsNewSuggested);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof shopRefreshWorkflow>({ shopId: state.shopId, pending: [...pending], coalesceWindowMs, failureBackoffMs });
    }
    const wait = windowLeft();
    if (pending.size < FLUSH_BATCH && wait > 0) await condition(() => pending.size >= FLUSH_BATCH, wait);
    const batch = [...pending.entries()].slice(0, FLUSH_BATCH);
    for (const [id] of batch) pending.delete(id);
    await flush(batch);
  }
}
