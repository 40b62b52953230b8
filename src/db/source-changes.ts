import type { PoolClient } from 'pg';
import { countOf, inTransaction, type Db } from './pool.js';

export interface IncomingChange {
  shopId: string;
  sku: string;
  locationId: string;
  quantity: number;
  occurredAt: string;
  /** The source's own id for the change; a repeat with the same id is ignored. */
  externalId?: string;
}

/** Changes as the column arrays an `unnest($n::text[], ...)` of (shop_id, sku, location_id, quantity, occurred_at) takes. */
export function changeColumns(changes: Omit<IncomingChange, 'externalId'>[]): [string[], string[], string[], number[], string[]] {
  return [changes.map((c) => c.shopId), changes.map((c) => c.sku), changes.map((c) => c.locationId), changes.map((c) => c.quantity), changes.map((c) => c.occurredAt)];
}

/** The default of `inventory_sync.source_events.max_clock_skew_seconds`. */
export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300;

/** One caller's changes from one source, committed with others' in one transaction (group commit). */
export interface ChangeGroup {
  source: string;
  changes: IncomingChange[];
}

export interface GroupRecorded {
  /** Changes newly recorded (a repeated eventId is not). */
  recorded: number;
  /** Per change, in order: whether its (shop, sku, location) has a mapping. */
  mapped: boolean[];
}

/**
 * Records changes durably in one transaction: appended to the change feed, and folded into the snapshot unless
 * the snapshot already holds a later reading (events may arrive out of order). A stored reading dated beyond the
 * clock-skew allowance (a source clock that ran ahead, before the edge refused such events) never blocks a newer one.
 */
export async function recordSourceChanges(db: Db, source: string, changes: IncomingChange[], maxClockSkewSeconds = DEFAULT_MAX_CLOCK_SKEW_SECONDS): Promise<{ recorded: number }> {
  if (changes.length === 0) return { recorded: 0 };
  const [one] = await recordChangeGroups(db, [{ source, changes }], maxClockSkewSeconds, { mapped: false });
  return { recorded: one!.recorded };
}

/**
 * Many callers' changes in one transaction (see recordSourceChanges), answering each caller its own count; with
 * `mapped`, also which of its keys have a mapping (read in the same transaction, not one query per caller).
 * A repeated eventId within the group is recorded once, for the first caller that sent it.
 */
export async function recordChangeGroups(db: Db, groups: ChangeGroup[], maxClockSkewSeconds = DEFAULT_MAX_CLOCK_SKEW_SECONDS, opts: { mapped: boolean } = { mapped: true }): Promise<GroupRecorded[]> {
  const rows = groups.flatMap((g) => g.changes.map((c) => ({ source: g.source, ...c })));
  const { inserted, mappedKeys } = await inTransaction(db, async (client) => ({
    inserted: await insertChanges(client, rows, maxClockSkewSeconds),
    mappedKeys: opts.mapped ? await mappedOf(client, rows) : new Set<string>(),
  }));
  // Which change was newly recorded: every change without an eventId; of those with one, the first sender's.
  const fresh = new Set(inserted);
  return groups.map((g) => {
    let recorded = 0;
    for (const c of g.changes) {
      if (c.externalId === undefined) recorded++;
      else if (fresh.delete(`${g.source}\u0000${c.externalId}`)) recorded++;
    }
    return { recorded, mapped: g.changes.map((c) => mappedKeys.has(`${c.shopId}\u0000${c.sku}\u0000${c.locationId}`)) };
  });
}

/** Returns `source\0externalId` of every change with an eventId that was newly inserted. */
async function insertChanges(client: PoolClient, rows: (IncomingChange & { source: string })[], maxClockSkewSeconds: number): Promise<string[]> {
  const { rows: inserted } = await client.query<{ cursor: string; source: string; external_id: string | null }>(
    `INSERT INTO source_changes (source, shop_id, sku, location_id, quantity, occurred_at, external_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::text[])
     ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING
     RETURNING cursor::text, source, external_id`,
    [rows.map((c) => c.source), ...changeColumns(rows), rows.map((c) => c.externalId ?? null)],
  );
  await client.query(
    `INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at, cursor)
     SELECT DISTINCT ON (c.source, c.shop_id, c.sku, c.location_id) c.source, c.shop_id, c.sku, c.location_id, c.quantity, c.occurred_at, c.cursor
       FROM source_changes c WHERE c.cursor = ANY($1::bigint[])
      ORDER BY c.source, c.shop_id, c.sku, c.location_id, c.occurred_at DESC, c.cursor DESC
     ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
       SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, cursor = EXCLUDED.cursor, updated_at = now()
       WHERE s.occurred_at <= EXCLUDED.occurred_at OR s.occurred_at > now() + make_interval(secs => $2)`,
    [inserted.map((r) => r.cursor), maxClockSkewSeconds],
  );
  return inserted.filter((r) => r.external_id !== null).map((r) => `${r.source}\u0000${r.external_id}`);
}

async function mappedOf(client: PoolClient, rows: { shopId: string; sku: string; locationId: string }[]): Promise<Set<string>> {
  const { rows: found } = await client.query<{ shop_id: string; sku: string; location_id: string }>(
    `SELECT DISTINCT m.shop_id, m.sku, m.location_id
       FROM mappings m JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(shop_id, sku, location_id) USING (shop_id, sku, location_id)`,
    [rows.map((r) => r.shopId), rows.map((r) => r.sku), rows.map((r) => r.locationId)],
  );
  return new Set(found.map((r) => `${r.shop_id}\u0000${r.sku}\u0000${r.location_id}`));
}

/** How many readings of a source are stored (what a full sync read last time). */
export async function countSnapshots(db: Pick<Db, 'query'>, source: string): Promise<number> {
  return countOf(db, 'SELECT count(*)::int AS n FROM source_snapshots WHERE source = $1', [source]);
}
