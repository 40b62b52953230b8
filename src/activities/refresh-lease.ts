import { setTimeout as delay } from 'node:timers/promises';
import { Errors } from '../domain/errors.js';
import type { InventoryKey } from '../domain/keys.js';
import type { SkuLocation } from '../domain/sku-location.js';
import { checkVersion, checkVersions, type GuardVerdict, type Writer } from '../guard/version-guard.js';
import type { AttemptScope } from './attempt-scope.js';
import type { RacePointContext } from './race-points.js';
import type { RefreshRuntime } from './refresh-types.js';

/** How often a computation asks again for a key whose lease an older one holds. */
const LEASE_POLL_MS = 10;

/**
 * Asks the guard for the keys, waiting while an older computation (or an earlier attempt of this one) holds a
 * key's write lease: it is between its own guard check and its Shopify write. Waits only ever point from newer
 * to older writers, so they cannot form a cycle; a crashed holder's lease lapses. A newer attempt of this
 * computation having asked means this attempt was abandoned: it throws ISYNC_WRITE_ABANDONED.
 */
export async function guardWithLease(rt: RefreshRuntime, items: { key: InventoryKey; ats: number }[], writer: Writer, scope: AttemptScope, point: RacePointContext): Promise<({ allowed: true } | { allowed: false; newerVersion: number })[]> {
  const verdicts = await checkVersions(rt.deps.redis, items.map((i) => ({ key: i.key, quantity: i.ats })), writer, rt.leaseMs);
  const settled: ({ allowed: true } | { allowed: false; newerVersion: number })[] = [];
  for (const [index, first] of verdicts.entries()) {
    let verdict = first;
    const { key, ats } = items[index]!;
    const deadline = Date.now() + rt.leaseMs + 1000;
    let told = false;
    while (!verdict.allowed && 'busyWith' in verdict) {
      if (!told) {
        told = true;
        await rt.race.whileKeyBusy?.({ ...point, keys: [{ sku: key.sku, locationId: key.locationId }], busyWith: BigInt(verdict.busyWith) });
      }
      if (Date.now() > deadline) throw Errors.DependencyUnavailable(`the write lease of ${key.sku} at ${key.locationId} was not released`, { busyWith: verdict.busyWith });
      scope.heartbeat();
      await delay(LEASE_POLL_MS, undefined, { signal: scope.signal }).catch(() => scope.signal.throwIfAborted());
      verdict = await checkVersion(rt.deps.redis, key, writer, ats, rt.leaseMs);
    }
    if (!verdict.allowed && 'fencedBy' in verdict) {
      throw Errors.WriteAbandoned(`attempt ${writer.attempt} of version ${writer.version} was superseded by attempt ${verdict.fencedBy}`, { version: String(writer.version), attempt: writer.attempt });
    }
    settled.push(verdict as { allowed: true } | { allowed: false; newerVersion: number });
  }
  return settled;
}

/**
 * Why a writer may no longer send a key, from the guard's answer to a renewal; undefined while it still may.
 * Renewing is the check: it succeeds only for the attempt that holds the lease of the newest version.
 */
export function lostBecause(verdict: GuardVerdict, writer: Writer): { reason: 'superseded' | 'abandoned'; detail: string } | undefined {
  if (verdict.allowed) return undefined;
  if ('newerVersion' in verdict) return { reason: 'superseded', detail: `version ${verdict.newerVersion} is newer` };
  if ('fencedBy' in verdict) return { reason: 'abandoned', detail: `attempt ${verdict.fencedBy} of version ${writer.version} took over` };
  return { reason: 'abandoned', detail: `the write lease lapsed and is held by version ${verdict.busyWith}` };
}

/**
 * While a write slowed by throttling lives it keeps its leases: renewed often, so a crashed or stalled writer's
 * lapse soon. A renewal that fails or is refused abandons the write at once (the signal aborts every wait and
 * request in the client). Returns the stop function, which waits for a renewal still on its way (it must not
 * re-take a lease after the release).
 */
export function renewLeasesWhileWriting(rt: RefreshRuntime, shopId: string, toWrite: { key: SkuLocation; ats: number }[], writer: Writer & { version: bigint }, scope: AttemptScope): () => Promise<void> {
  const { version } = writer;
  let renewing: Promise<unknown> = Promise.resolve();
  const renewal = setInterval(() => {
    scope.heartbeat();
    renewing = checkVersions(rt.deps.redis, toWrite.map((w) => ({ key: { shopId, ...w.key }, quantity: w.ats })), writer, rt.leaseMs).then(
      (verdicts) => {
        const lost = verdicts.map((v) => lostBecause(v, writer)).find((l) => l?.reason === 'abandoned');
        if (lost) scope.abandon(`lease renewal refused: ${lost.detail}`, { version: String(version), attempt: writer.attempt });
      },
      (err: unknown) => scope.abandon(`lease renewal failed: ${(err as Error).message}`, { version: String(version), attempt: writer.attempt }),
    );
  }, Math.max(50, Math.floor(rt.leaseMs / 10)));
  return async () => {
    clearInterval(renewal);
    await renewing;
  };
}
