import { Context } from '@temporalio/activity';
import { type AuditRow, writeAudit } from '../db/audit.js';
import { type ShopifyMapping, shopifyMappingsOf } from '../db/mappings.js';
import { computeAts } from '../domain/ats.js';
import { Errors, errorCodeOf } from '../domain/errors.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { GUARD_LEASE_MS, releaseLeases, type Writer } from '../guard/version-guard.js';
import { createLogger } from '../observability/logger.js';
import { readComponents } from '../sources/components.js';
import { openAttemptScope, type AttemptScope } from './attempt-scope.js';
import type { RacePointContext } from './race-points.js';
import { knownShopifyQuantities, rereadOutlivedReadings, type ShopifyKnown } from './refresh-compare.js';
import { unclaimedUnits } from './shopify-unclaimed.js';
import { heldForShopifyOrders } from '../db/claims.js';
import { type CommittedReading, forgetCommitted } from '../guard/last-seen.js';
import { scheduleRecheck } from '../guard/unclaimed-recheck.js';
import { guardWithLease, renewLeasesWhileWriting } from './refresh-lease.js';
import { type RefreshDeps, type RefreshInput, type RefreshRuntime, type RefreshSettings, type RefreshSummary, timerOf } from './refresh-types.js';
import { activityExecutionId, recallVersion, rememberVersion } from './refresh-version.js';
import { nextVersion } from '../db/ats-version.js';
import { writeRound, type Planned } from './refresh-write.js';

export type { RefreshDeps, RefreshInput, RefreshSettings, RefreshSummary, ShopifyInventoryPort } from './refresh-types.js';

/** A stale compare means Shopify moved under us (an order, a merchant edit): re-read, recompute, new key. */
const MAX_STALE_ROUNDS = 3;
/** The trigger of keys a flush handed back after MAX_STALE_ROUNDS stale compares. */
const STALE_RETRY = 'stale_retry';

/**
 * The refresh activities. One round of `refreshKeys` (docs/architecture.md, "One refresh, step by step"): take a
 * version, learn Shopify's compare value (refresh-compare.ts), read the components, plan the ATS, pass the
 * version guard with write leases (refresh-lease.ts), write with compare-and-swap and audit (refresh-write.ts);
 * a stale compare starts another round.
 */
export function createRefreshActivities(deps: RefreshDeps) {
  const { db, redis } = deps;
  const rt: RefreshRuntime = {
    deps,
    race: deps.racePoints ?? {},
    leaseMs: deps.leaseMs ?? GUARD_LEASE_MS,
    logger: deps.logger ?? createLogger(undefined, 'refresh'),
    timed: timerOf(deps.profile),
  };
  const { timed } = rt;
  const race = rt.race;

  /** The first round's version: the caller's, else this activity execution's earlier one (a retry), else a new one. */
  async function firstVersion(input: RefreshInput, executionId: string | undefined): Promise<bigint> {
    if (input.version !== undefined) return BigInt(input.version);
    const recalled = executionId === undefined ? undefined : await recallVersion(redis, executionId);
    return recalled ?? nextVersion(db);
  }

  /** Step 0: drop repeated keys, and audit (and skip) the keys without a mapping. */
  async function mappedKeysOnly(input: RefreshInput, mappings: Map<string, ShopifyMapping>, summary: RefreshSummary): Promise<SkuLocation[]> {
    const { shopId, trigger } = input;
    const unmapped: AuditRow[] = [];
    const pending: SkuLocation[] = [];
    for (const k of dedupe(input.keys)) {
      if (mappings.has(skuLocationKey(k))) pending.push(k);
      else {
        unmapped.push({ shopId, ...k, trigger, outcome: 'unmapped', errorCode: Errors.UnknownSku.code });
        summary.skipped++;
      }
    }
    await writeAudit(db, unmapped);
    return pending;
  }

  /** Step 3: ATS per key from its components; a key no ERP holds on hand is audited and skipped. */
  function planKeys(
    input: RefreshInput,
    pending: SkuLocation[],
    components: Awaited<ReturnType<typeof readComponents>>,
    unclaimed: { committed: Map<string, CommittedReading>; held: Map<string, number> },
    version: bigint,
    audit: AuditRow[],
    summary: RefreshSummary,
  ): Planned[] {
    const { shopId, trigger } = input;
    const planned: Planned[] = [];
    for (const key of pending) {
      const c = components.get(skuLocationKey(key))!;
      if (c.status === 'no_on_hand') {
        audit.push({ shopId, ...key, trigger, version, outcome: 'no_on_hand', detail: 'no ERP holds an on-hand quantity for this key' });
        summary.skipped++;
        continue;
      }
      // Units Shopify committed to orders we have not claimed yet (shopify-unclaimed.ts): never handed back.
      const reading = unclaimed.committed.get(skuLocationKey(key));
      const shopifyUnclaimed = reading === undefined ? 0 : unclaimedUnits(reading.committed, unclaimed.held.get(skuLocationKey(key)) ?? 0);
      const withUnclaimed = shopifyUnclaimed > 0 ? { ...c.components, shopifyUnclaimed } : c.components;
      planned.push({ key, ats: computeAts(withUnclaimed), components: withUnclaimed });
    }
    return planned;
  }

  /** Step 4: the version guard (with write leases); a key a newer version holds is audited as superseded. */
  async function admitByGuard(input: RefreshInput, planned: Planned[], writer: Writer & { version: bigint }, scope: AttemptScope, point: RacePointContext, audit: AuditRow[], summary: RefreshSummary): Promise<Planned[]> {
    const { shopId, trigger } = input;
    const { version } = writer;
    const toWrite: Planned[] = [];
    const verdicts = await guardWithLease(rt, planned.map((p) => ({ key: { shopId, ...p.key }, ats: p.ats })), writer, scope, point);
    planned.forEach((p, i) => {
      const verdict = verdicts[i]!;
      if (verdict.allowed) toWrite.push(p);
      else {
        audit.push({ shopId, ...p.key, trigger, version, components: p.components, ats: p.ats, outcome: 'superseded', errorCode: Errors.StaleVersion.code, detail: `version ${verdict.newerVersion} is newer` });
        summary.skipped++;
      }
    });
    return toWrite;
  }

  /**
   * Step 4b: keys whose ATS Shopify held when this round read it from Shopify (a key never seen, or one Shopify moved
   * itself: a checkout, a restock) send nothing. A Shopify order's claim usually ends here: the checkout took the unit
   * from `available` and the claim takes it from ATS, so the two agree, and a write would cost a call and its points
   * for no change. Only a value read in this round counts, after the guard let this version in (a stalled older
   * computation is fenced off as for a write): a remembered value is still written with its compare, which finds out
   * whether Shopify moved without telling us.
   */
  function notHeldAlready(input: RefreshInput, admitted: Planned[], shopify: ShopifyKnown, version: bigint, audit: AuditRow[], summary: RefreshSummary): Planned[] {
    const toWrite: Planned[] = [];
    for (const p of admitted) {
      const id = skuLocationKey(p.key);
      if (!shopify.readNow.has(id) || shopify.known.get(id) !== p.ats) {
        toWrite.push(p);
        continue;
      }
      audit.push({ shopId: input.shopId, ...p.key, trigger: input.trigger, version, components: p.components, ats: p.ats, previousShopify: p.ats, delta: 0, outcome: 'unchanged', detail: 'Shopify held this ATS when this round read it: nothing sent' });
      summary.unchanged++;
      summary.written[id] = p.ats;
    }
    return toWrite;
  }

  /**
   * Computes ATS for a batch of keys of one shop and makes Shopify's `available` equal to it, through the
   * version guard and a compare-and-swap write. One audit row per key and write, stored as each round ends so
   * the audit log's order is the order in which writes reached Shopify.
   */
  async function refreshKeys(input: RefreshInput): Promise<RefreshSummary> {
    const executionId = activityExecutionId();
    const scope = (deps.openAttempt ?? openAttemptScope)();
    const hop = scheduleToStartMs();
    if (hop !== undefined) deps.profile?.('hop', hop, input.keys.length);
    try {
      return await timed('total', input.keys.length, () => refreshIn(input, executionId, scope));
    } finally {
      scope.close();
    }
  }

  async function refreshIn(input: RefreshInput, executionId: string | undefined, scope: AttemptScope): Promise<RefreshSummary> {
    const { shopId, trigger } = input;
    const summary: RefreshSummary = { version: '', applied: 0, unchanged: 0, skipped: 0, failed: 0, written: {} };
    // The first version and the mappings are independent round trips: taken at once (a flush is a chain of
    // round trips, and a key dirtied during it waits for all of them). A batch with no mapped key wastes a
    // version: versions only need to grow, not to be dense.
    const [mappings, firstRoundVersion] = await Promise.all([
      timed('mappings', input.keys.length, () => shopifyMappingsOf(db, shopId, input.keys)),
      timed('version', input.keys.length, () => firstVersion(input, executionId)),
    ]);
    let pending = await mappedKeysOnly(input, mappings, summary);

    for (let round = 0; round < MAX_STALE_ROUNDS && pending.length > 0; round++) {
      // The version is taken before any source is read, so a computation that read older data carries an older version.
      const version = round === 0 ? firstRoundVersion : await timed('version', pending.length, () => nextVersion(db));
      const writer = { version, attempt: scope.attempt };
      summary.version = version.toString();
      scope.heartbeat();
      const point: RacePointContext = { shopId, keys: pending, version, round };
      await race.afterVersionTaken?.(point);

      const audit: AuditRow[] = [];
      // Shopify's quantities are known before the sources are read: an order placed after our read then always
      // fails the compare. Read after, the compare would already include that order while our ATS does not.
      // The version memo (for a retry of this activity) is stored meanwhile: it only has to be there before the
      // guard stores the version.
      const [shopifyKnown] = await Promise.all([
        timed('compare', pending.length, () => knownShopifyQuantities(rt, shopId, pending, mappings, scope)),
        executionId === undefined ? undefined : rememberVersion(redis, executionId, version),
      ]);
      const { known, committed } = shopifyKnown;
      let components: Awaited<ReturnType<typeof readComponents>>;
      // What our Shopify-order claims hold, for every key: a committed reading is judged against it, and one taken
      // by this round's write (a stale compare's re-read) keeps it, since it was read before that re-read.
      let held: Map<string, number>;
      try {
        [components, held] = await timed('sources', pending.length, () => Promise.all([readComponents(deps, shopId, pending), heldForShopifyOrders(db, shopId, pending)]));
        await timed('reread', pending.length, () => rereadOutlivedReadings(rt, shopId, pending, mappings, held, scope, shopifyKnown, { all: input.rereadReadings === true }));
      } catch (err) {
        // Never write an ATS that treated a missing component as zero: the whole batch fails and is retried.
        await writeAudit(db, pending.map((k) => ({ shopId, ...k, trigger, version, outcome: 'source_failed', errorCode: errorCodeOf(err), detail: (err as Error).message })));
        throw err;
      }
      await race.afterComponentsRead?.(point);

      const planned = planKeys(input, pending, components, { committed, held }, version, audit, summary);
      // Readings whose orders are all claimed now are dropped: later rounds need nothing for those keys. Keys that
      // subtracted a reading are refreshed again once it has expired (unclaimed-recheck.ts).
      await forgetCommitted(deps.redis, shopId, planned.filter((p) => committed.has(skuLocationKey(p.key)) && !p.components.shopifyUnclaimed).map((p) => p.key));
      await scheduleRecheck(deps.redis, shopId, planned.filter((p) => (p.components.shopifyUnclaimed ?? 0) > 0).map((p) => p.key));
      try {
        const admitted = await timed('guard', planned.length, () => admitByGuard(input, planned, writer, scope, point, audit, summary));
        const toWrite = notHeldAlready(input, admitted, shopifyKnown, version, audit, summary);
        if (toWrite.length === 0) {
          await writeAudit(db, audit);
          pending = [];
          break;
        }
        await race.beforeShopifyWrite?.({ ...point, keys: toWrite.map((w) => w.key) });
        const stopRenewing = renewLeasesWhileWriting(rt, shopId, toWrite, writer, scope);
        try {
          pending = await writeRound(rt, shopId, trigger, mappings, { known, held }, toWrite, writer, scope, audit, summary);
        } finally {
          // A renewal still on its way must not re-take a lease after the release below.
          await stopRenewing();
        }
      } finally {
        // Every key this attempt asked for: releasing is a no-op where it holds no lease. A release that fails
        // (Redis gone) must not hide why the write ended: the lease lapses on its own.
        await timed('release', planned.length, () => releaseLeases(redis, planned.map((w) => ({ shopId, ...w.key })), writer).catch(() => undefined));
      }
    }
    if (pending.length > 0) {
      // Shopify kept moving under every round (a flash sale's checkouts): the keys go back to the shop's refresh
      // workflow, to be flushed again once this flush is done, rather than waiting for their next event. Once: a
      // flush that was itself such a retry hands nothing back, so a level that never settles cannot loop.
      const again = deps.retryLater !== undefined && !trigger.split(',').includes(STALE_RETRY);
      const retried = again && (await deps.retryLater!({ shopId, keys: pending, trigger: STALE_RETRY }).then(() => true, () => false));
      const then = retried ? 'handed back to the shop\'s refresh' : 'the next refresh or reconciliation retries';
      await writeAudit(db, pending.map((k) => ({ shopId, ...k, trigger, outcome: 'stale_exhausted', errorCode: Errors.ShopifyStaleCompare.code, detail: `still stale after ${MAX_STALE_ROUNDS} rounds; ${then}` })));
      summary.failed += pending.length;
    }
    if (input.countsOnly) summary.written = {};
    return summary;
  }

  /** What the shop's coalescing workflow needs from the configuration (workflows cannot read it themselves). */
  async function refreshSettings(): Promise<RefreshSettings> {
    return { coalesceWindowMs: deps.config.inventory_sync.aggregation.coalesce_window_ms };
  }

  /**
   * The shop refresh's coalescing wait, kept by the worker's clock (runs after patch 'refresh-precise-window').
   * Temporal fires a timer no sooner than about 1 s after it is set (the history service bumps a timer task due
   * before its reader's look-ahead, `history.timerProcessorMaxTimeShift`, to after it), so a 200 ms window waited
   * ~1 s whenever fewer than 250 keys came. An activity's completion is not on that timer queue. The workflow
   * does not wait for it once 250 keys came; it ends early, with no error, when the worker shuts down.
   */
  async function coalesceDelay(ms: number): Promise<void> {
    const signal = activitySignal();
    if (signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  return { refreshKeys, refreshSettings, coalesceDelay };
}

/** The current activity's cancellation signal; undefined outside an activity (a direct call in a test). */
function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** How long this activity attempt waited between being scheduled and starting; undefined outside an activity. */
function scheduleToStartMs(): number | undefined {
  try {
    return Math.max(0, Date.now() - Context.current().info.currentAttemptScheduledTimestampMs);
  } catch {
    return undefined;
  }
}

function dedupe(keys: SkuLocation[]): SkuLocation[] {
  const map = new Map(keys.map((k) => [skuLocationKey(k), k]));
  return [...map.values()];
}
