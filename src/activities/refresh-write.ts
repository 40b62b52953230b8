import { type AuditRow, writeAudit } from '../db/audit.js';
import type { ShopifyMapping } from '../db/mappings.js';
import type { AtsComponents } from '../domain/ats.js';
import { Errors, errorCodeOf } from '../domain/errors.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';
import { rememberLastSeen, type SeenLevel } from '../guard/last-seen.js';
import { checkVersions, type Writer } from '../guard/version-guard.js';
import { writesDropped } from '../observability/fault-metrics.js';
import type { EntryResult, SetAvailableEntry } from '../shopify/client/types.js';
import { levelKey } from '../shopify/client/types.js';
import { isAbandoned, type AttemptScope } from './attempt-scope.js';
import { lostBecause } from './refresh-lease.js';
import { boundsOf, type RefreshRuntime, type RefreshSummary } from './refresh-types.js';

/** One key's computation in a round: the ATS to write and the components it came from. */
export type Planned = { key: SkuLocation; ats: number; components: AtsComponents };

/**
 * One compare-and-swap write of a round; returns the keys whose compare was stale. Immediately before every
 * send (retries included) the fence renews this attempt's leases: an entry whose key a newer version took is
 * dropped, and a lost lease or a newer attempt abandons the whole write.
 */
export async function writeRound(
  rt: RefreshRuntime,
  shopId: string,
  trigger: string,
  mappings: Map<string, ShopifyMapping>,
  { known, held }: { known: Map<string, number | null>; held: Map<string, number> },
  toWrite: Planned[],
  writer: Writer & { version: bigint },
  scope: AttemptScope,
  audit: AuditRow[],
  summary: RefreshSummary,
): Promise<SkuLocation[]> {
  const { version } = writer;
  const idempotencyKey = `v${version}`;
  let entries: SetAvailableEntry[] = [];
  let results: EntryResult[];
  const byLevel = new Map<string, Planned>();
  try {
    entries = toWrite.map((w) => {
      const m = mappings.get(skuLocationKey(w.key))!;
      byLevel.set(levelKey(m.inventoryItemId, m.shopifyLocationId), w);
      return { inventoryItemId: m.inventoryItemId, locationId: m.shopifyLocationId, quantity: w.ats, changeFromQuantity: known.get(skuLocationKey(w.key)) ?? null };
    });
    results = await rt.timed('shopify', entries.length, () => rt.deps.shopify(shopId).setAvailable(entries, {
      reason: 'correction',
      referenceDocumentUri: `gid://inventory-sync/Refresh/${version}`,
      keySalt: idempotencyKey,
      ...boundsOf(scope, { shopId, version: String(version), attempt: writer.attempt, keys: toWrite.length }),
      fence: async (sending) => {
        // An attempt Temporal gave up on (or whose time ran out) sends nothing, whatever the guard says.
        scope.signal.throwIfAborted();
        scope.heartbeat();
        const planned = sending.map((e) => byLevel.get(levelKey(e.inventoryItemId, e.locationId))!);
        await rt.race.beforeSend?.({ shopId, keys: planned.map((p) => p.key), version, round: 0, attempt: writer.attempt });
        scope.signal.throwIfAborted();
        const verdicts = await checkVersions(rt.deps.redis, planned.map((p) => ({ key: { shopId, ...p.key }, quantity: p.ats })), writer, rt.leaseMs);
        const drops = new Map<string, string>();
        for (const [i, verdict] of verdicts.entries()) {
          const lost = lostBecause(verdict, writer);
          if (lost?.reason === 'abandoned') {
            scope.abandon(`dropped before sending: ${lost.detail}`, { version: String(version), attempt: writer.attempt });
            throw scope.signal.reason as Error;
          }
          if (lost) drops.set(levelKey(sending[i]!.inventoryItemId, sending[i]!.locationId), lost.detail);
        }
        return drops;
      },
    }));
  } catch (err) {
    // Abandoned: this attempt sent nothing after it lost the right to (its retry or a newer version writes).
    // Otherwise the guard already holds this version; the retry carries the same one and the guard lets it through.
    const outcome = isAbandoned(err) ? 'abandoned' : 'error';
    if (outcome === 'abandoned') noteDropped(rt, shopId, writer, toWrite.map((w) => w.key), 'abandoned', (err as Error).message);
    for (const [i, w] of toWrite.entries()) {
      audit.push({ shopId, ...w.key, trigger, version, components: w.components, ats: w.ats, previousShopify: entries[i]?.changeFromQuantity ?? null, idempotencyKey, outcome, errorCode: errorCodeOf(err), detail: (err as Error).message });
    }
    await writeAudit(rt.deps.db, audit);
    throw err;
  }

  const seen: SeenLevel[] = [];
  const stale: SkuLocation[] = [];
  const dropped: SkuLocation[] = [];
  results.forEach((r, i) => {
    const w = toWrite[i]!;
    const previous = entries[i]!.changeFromQuantity;
    const row: AuditRow = { shopId, ...w.key, trigger, version, components: w.components, ats: w.ats, previousShopify: previous, idempotencyKey, outcome: r.status };
    if (r.status === 'applied') {
      row.delta = previous === null ? null : w.ats - previous;
      seen.push([w.key, r.quantityAfter]);
      if (previous === w.ats) summary.unchanged++;
      else summary.applied++;
      summary.written[skuLocationKey(w.key)] = w.ats;
    } else if (r.status === 'stale') {
      // The re-read's `committed` keeps what our claims held when this round read them, before the re-read.
      if (r.actual !== null) seen.push([w.key, r.actual, r.committed ?? null, held.get(skuLocationKey(w.key)) ?? 0]);
      row.errorCode = Errors.ShopifyStaleCompare.code;
      row.detail = `Shopify held ${r.actual ?? 'unknown'}, not ${previous}`;
      stale.push(w.key);
    } else if (r.status === 'dropped') {
      // A newer computation took the key while this one waited to send: it writes the newer value.
      row.outcome = 'superseded';
      row.errorCode = Errors.StaleVersion.code;
      row.detail = `dropped before sending: ${r.reason}`;
      dropped.push(w.key);
      summary.skipped++;
    } else {
      row.errorCode = r.code;
      row.detail = r.message;
      summary.failed++;
    }
    audit.push(row);
  });
  if (dropped.length > 0) noteDropped(rt, shopId, writer, dropped, 'superseded', 'a newer version took the keys while this write waited');
  await rt.timed('record', audit.length, () => Promise.all([rememberLastSeen(rt.deps.redis, shopId, seen), writeAudit(rt.deps.db, audit)]));
  return stale;
}

function noteDropped(rt: RefreshRuntime, shopId: string, writer: Writer, keys: SkuLocation[], reason: 'abandoned' | 'superseded', detail: string): void {
  writesDropped.inc({ shop: shopId, reason }, keys.length);
  rt.logger.warn(
    { shopId, version: String(writer.version), attempt: writer.attempt, reason, keys: keys.slice(0, 20).map(skuLocationKey), keyCount: keys.length, detail },
    'write dropped before reaching Shopify',
  );
}
