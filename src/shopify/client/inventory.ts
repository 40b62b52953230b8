import { Errors } from '../../domain/errors.js';
import * as D from './documents.js';
import { withBounds, type GraphqlCaller } from './graphql-call.js';
import { deriveIdempotencyKey } from './idempotency.js';
import { readLevels } from './reads.js';
import {
  entryIndexOf,
  hasCode,
  hasStaleCompare,
  IN_FLIGHT,
  isStaleCompare,
  KEY_MISMATCH,
  PREVIOUS_ATTEMPT_FAILED,
  userErrorToError,
  type ShopifyUserError,
} from './user-errors.js';
import {
  levelKey,
  type AdjustAvailableChange,
  type AdjustAvailableOptions,
  type EntryResult,
  type Gid,
  type LevelPair,
  type SetAvailableEntry,
  type SetAvailableOptions,
} from './types.js';

/** Shopify's limit on array inputs. */
export const MAX_ENTRIES_PER_CALL = 250;
/** Re-submissions of one chunk after stale or invalid entries were taken out; each needs a fresh re-read. */
const MAX_RESUBMIT_ROUNDS = 4;

export type SetAvailableResult = LevelPair & EntryResult;
export type AdjustAvailableResult = LevelPair & { status: 'applied'; quantityAfter: number | null };

interface MutationPayload {
  inventoryAdjustmentGroup: {
    id: Gid;
    changes?: { name: string; quantityAfterChange: number | null; item: { id: Gid } | null; location: { id: Gid } | null }[];
  } | null;
  userErrors: ShopifyUserError[];
}

export interface InventoryDeps {
  shopDomain: string;
  call: GraphqlCaller;
}

/** Thrown by a fence check inside the send: these entries (level key -> why) must not be sent. */
class FenceDrops extends Error {
  constructor(readonly drops: Map<string, string>) {
    super('entries dropped by the write fence');
  }
}

const inFlight = (field: string) => (data: unknown) =>
  hasCode(((data as Record<string, MutationPayload | null>)[field]?.userErrors ?? []), IN_FLIGHT);

/**
 * Sets `available` absolutely, compare-and-swap on changeFromQuantity, in calls of at most 250 entries.
 * Results come back in the order of `entries`.
 */
export async function setAvailable(
  deps: InventoryDeps,
  entries: SetAvailableEntry[],
  opts: SetAvailableOptions = {},
): Promise<SetAvailableResult[]> {
  assertUniquePairs(entries);
  // Sorted before chunking so the same set of entries always forms the same chunks and so the same keys.
  const sorted = [...entries].sort((a, b) => compareKeys(levelKey(a.inventoryItemId, a.locationId), levelKey(b.inventoryItemId, b.locationId)));
  const chunks: SetAvailableEntry[][] = [];
  for (let i = 0; i < sorted.length; i += MAX_ENTRIES_PER_CALL) chunks.push(sorted.slice(i, i + MAX_ENTRIES_PER_CALL));

  const results = new Map<string, EntryResult>();
  // All chunks start at once; the shop budget decides how many are actually in flight.
  await Promise.all(chunks.map((chunk, i) => writeSetChunk(deps, chunk, i, opts, results)));
  return entries.map((e) => {
    const key = levelKey(e.inventoryItemId, e.locationId);
    const result = results.get(key) ?? { status: 'error', code: 'NOT_WRITTEN', message: 'entry was not written' };
    return { inventoryItemId: e.inventoryItemId, locationId: e.locationId, ...result };
  });
}

/**
 * One chunk, possibly in several rounds. Shopify rejects the whole call when any entry's compare is stale
 * (nothing is applied), so a single key that someone else changed would hold back up to 249 others. We
 * therefore re-read the chunk's current quantities in one query, report the entries that really moved as
 * stale together with what Shopify holds now (the caller recomputes from that), and re-submit the rest. The
 * re-submission is a different request, so it gets a different key: its content differs, and the round
 * number goes into the salt for the case where the re-read found nothing stale (the value moved back).
 */
async function writeSetChunk(
  deps: InventoryDeps,
  chunk: SetAvailableEntry[],
  chunkIndex: number,
  opts: SetAvailableOptions,
  results: Map<string, EntryResult>,
): Promise<void> {
  const { signal, deadlineMs, context, fence } = opts;
  const bounds = { ...(signal ? { signal } : {}), ...(deadlineMs !== undefined ? { deadlineMs } : {}), ...(context ? { context } : {}) };
  const call = withBounds(deps.call, bounds);
  let pending = chunk;
  let previousAttemptRetried = false;
  for (let round = 0; pending.length > 0; round += 1) {
    const input = {
      name: 'available',
      reason: opts.reason ?? 'correction',
      ...(opts.referenceDocumentUri === undefined ? {} : { referenceDocumentUri: opts.referenceDocumentUri }),
      quantities: pending.map((e) => ({
        inventoryItemId: e.inventoryItemId,
        locationId: e.locationId,
        quantity: e.quantity,
        changeFromQuantity: e.changeFromQuantity,
      })),
    };
    const idempotencyKey =
      opts.idempotencyKey !== undefined
        ? `${opts.idempotencyKey}:${chunkIndex}${round > 0 ? `:r${round}` : ''}`
        : deriveIdempotencyKey({
            shopDomain: deps.shopDomain,
            mutation: 'inventorySetQuantities',
            content: input,
            salt: `${opts.keySalt ?? ''}${round > 0 ? `#r${round}` : ''}`,
          });
    const sending = pending;
    let data: { inventorySetQuantities: MutationPayload | null };
    try {
      ({ data } = await call<{ inventorySetQuantities: MutationPayload | null }>(
        D.SET_QUANTITIES,
        { input, idempotencyKey },
        {
          operation: 'inventorySetQuantities',
          estimatedCost: D.MUTATION_COST,
          isInFlight: inFlight('inventorySetQuantities'),
          // Asked again before every send, retries included: a computation that lost the right to write an
          // entry while it waited (throttled, backing off, stalled) never sends it.
          ...(fence === undefined
            ? {}
            : {
                beforeSend: async () => {
                  const drops = await fence(sending);
                  if (drops.size > 0) throw new FenceDrops(drops);
                },
              }),
        },
      ));
    } catch (err) {
      if (!(err instanceof FenceDrops)) throw err;
      // The rest goes again as a new request: other content, so another key.
      for (const [key, reason] of err.drops) results.set(key, { status: 'dropped', reason });
      pending = pending.filter((e) => !err.drops.has(levelKey(e.inventoryItemId, e.locationId)));
      continue;
    }
    const userErrors = data.inventorySetQuantities?.userErrors ?? [];
    if (userErrors.length === 0) {
      for (const e of pending) results.set(levelKey(e.inventoryItemId, e.locationId), { status: 'applied', quantityAfter: e.quantity });
      return;
    }
    if (hasCode(userErrors, KEY_MISMATCH)) throw userErrorToError('inventorySetQuantities', userErrors[0]!);
    if (hasCode(userErrors, PREVIOUS_ATTEMPT_FAILED) && !previousAttemptRetried) {
      // Shopify asks for a new key: the next round's salt gives one. Only once, so a persistent failure surfaces.
      previousAttemptRetried = true;
      continue;
    }

    // Entries a userError names (other than stale) fail on their own; the rest may go again.
    const failed = new Map<number, ShopifyUserError>();
    let unplaced: ShopifyUserError | undefined;
    for (const ue of userErrors) {
      if (isStaleCompare(ue)) continue;
      const index = entryIndexOf(ue);
      if (index !== undefined && index < pending.length) failed.set(index, ue);
      else unplaced ??= ue;
    }
    if (unplaced !== undefined) {
      for (const e of pending) results.set(levelKey(e.inventoryItemId, e.locationId), asError(unplaced));
      return;
    }
    for (const [index, ue] of failed) {
      const e = pending[index]!;
      results.set(levelKey(e.inventoryItemId, e.locationId), asError(ue));
    }
    let rest = pending.filter((_, i) => !failed.has(i));

    if (hasStaleCompare(userErrors)) {
      const current = await readLevels(call, rest, ['available', 'committed']);
      const lastRound = round + 1 >= MAX_RESUBMIT_ROUNDS;
      rest = rest.filter((e) => {
        const key = levelKey(e.inventoryItemId, e.locationId);
        const actual = current.get(key)?.available ?? null;
        const moved = e.changeFromQuantity !== null && actual !== e.changeFromQuantity;
        if (moved || lastRound) results.set(key, { status: 'stale', actual, committed: current.get(key)?.committed ?? null });
        return !moved && !lastRound;
      });
    } else if (round + 1 >= MAX_RESUBMIT_ROUNDS) {
      for (const e of rest) results.set(levelKey(e.inventoryItemId, e.locationId), asError(userErrors[0]!));
      return;
    }
    pending = rest;
  }
}

/**
 * Adjusts `available` by deltas (orders from channels Shopify did not count). The caller owns the key, so a
 * stale compare cannot be resolved here: it is thrown as ShopifyStaleCompare carrying the quantities read
 * now, and the caller recomputes and calls again with a new key. Chunk i of a large call uses `${key}:${i}`,
 * so repeating the whole call after a partial failure replays the chunks that already applied.
 */
export async function adjustAvailable(
  deps: InventoryDeps,
  changes: AdjustAvailableChange[],
  opts: AdjustAvailableOptions,
): Promise<AdjustAvailableResult[]> {
  assertUniquePairs(changes);
  const out: AdjustAvailableResult[] = [];
  const chunkCount = Math.ceil(changes.length / MAX_ENTRIES_PER_CALL);
  for (let i = 0; i < chunkCount; i += 1) {
    const chunk = changes.slice(i * MAX_ENTRIES_PER_CALL, (i + 1) * MAX_ENTRIES_PER_CALL);
    const baseKey = chunkCount === 1 ? opts.idempotencyKey : `${opts.idempotencyKey}:${i}`;
    out.push(...(await writeAdjustChunk(deps, chunk, baseKey, opts)));
  }
  return out;
}

async function writeAdjustChunk(
  deps: InventoryDeps,
  chunk: AdjustAvailableChange[],
  baseKey: string,
  opts: AdjustAvailableOptions,
): Promise<AdjustAvailableResult[]> {
  const input = {
    name: 'available',
    reason: opts.reason ?? 'correction',
    ...(opts.referenceDocumentUri === undefined ? {} : { referenceDocumentUri: opts.referenceDocumentUri }),
    changes: chunk.map((c) => ({
      inventoryItemId: c.inventoryItemId,
      locationId: c.locationId,
      delta: c.delta,
      changeFromQuantity: c.changeFromQuantity,
    })),
  };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const idempotencyKey = attempt === 0 ? baseKey : `${baseKey}:retry1`;
    const { data } = await deps.call<{ inventoryAdjustQuantities: MutationPayload | null }>(
      D.ADJUST_QUANTITIES,
      { input, idempotencyKey },
      { operation: 'inventoryAdjustQuantities', estimatedCost: D.MUTATION_COST, isInFlight: inFlight('inventoryAdjustQuantities') },
    );
    const payload = data.inventoryAdjustQuantities;
    const userErrors = payload?.userErrors ?? [];
    if (userErrors.length === 0) {
      const after = new Map<string, number | null>();
      for (const ch of payload?.inventoryAdjustmentGroup?.changes ?? []) {
        if (ch.name === 'available' && ch.item && ch.location) after.set(levelKey(ch.item.id, ch.location.id), ch.quantityAfterChange);
      }
      return chunk.map((c) => {
        const key = levelKey(c.inventoryItemId, c.locationId);
        const fallback = c.changeFromQuantity === null ? null : c.changeFromQuantity + c.delta;
        return { inventoryItemId: c.inventoryItemId, locationId: c.locationId, status: 'applied', quantityAfter: after.get(key) ?? fallback };
      });
    }
    if (hasCode(userErrors, PREVIOUS_ATTEMPT_FAILED) && attempt === 0) continue;
    if (hasStaleCompare(userErrors)) {
      const current = await readLevels(deps.call, chunk, ['available']);
      const stale = chunk
        .map((c) => ({ ...c, actual: current.get(levelKey(c.inventoryItemId, c.locationId))?.available ?? null }))
        .filter((c) => c.changeFromQuantity !== null && c.actual !== c.changeFromQuantity)
        .map((c) => ({ inventoryItemId: c.inventoryItemId, locationId: c.locationId, expected: c.changeFromQuantity, actual: c.actual }));
      throw Errors.ShopifyStaleCompare('inventoryAdjustQuantities: Shopify holds other quantities than changeFromQuantity', {
        operation: 'inventoryAdjustQuantities',
        stale,
      });
    }
    throw userErrorToError('inventoryAdjustQuantities', userErrors[0]!);
  }
  throw Errors.ShopifyUserError('inventoryAdjustQuantities: the retry with a new key failed again', { code: PREVIOUS_ATTEMPT_FAILED });
}

function asError(ue: ShopifyUserError): EntryResult {
  return { status: 'error', code: ue.code ?? 'USER_ERROR', message: ue.message };
}

function assertUniquePairs(entries: LevelPair[]): void {
  const seen = new Set<string>();
  for (const e of entries) {
    const key = levelKey(e.inventoryItemId, e.locationId);
    // Shopify refuses the whole call for a repeated pair; say which one before sending anything.
    if (seen.has(key)) throw Errors.PayloadInvalid(`inventory item and location appear twice: ${key}`, { key });
    seen.add(key);
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
