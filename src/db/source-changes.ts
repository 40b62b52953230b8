import { countOf, type Db } from './pool.js';

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
 * Many callers' changes in one statement (see recordSourceChanges), answering each caller its own count; with
 * `mapped`, also which of its keys have a mapping (read in the same statement, not one query per caller); with
 * `handoff`, also a `refresh_handoffs` row per mapped key (the outbox the hand-off sweeper empties into each shop's
 * refresh workflow), so the events and their hand-off commit together or not at all.
 * A repeated eventId within the group is recorded once, for the first caller that sent it.
 */
export async function recordChangeGroups(
  db: Pick<Db, 'query'>,
  groups: ChangeGroup[],
  maxClockSkewSeconds = DEFAULT_MAX_CLOCK_SKEW_SECONDS,
  opts: { mapped: boolean; handoff?: boolean } = { mapped: true },
): Promise<GroupRecorded[]> {
  const rows = groups.flatMap((g) => g.changes.map((c) => ({ source: g.source, ...c })));
  if (rows.length === 0) return groups.map(() => ({ recorded: 0, mapped: [] }));
  const { rows: out } = await db.query<{ mapped: boolean; fresh: boolean }>(recordSql(opts.handoff === true), [
    rows.map((c) => c.source),
    ...changeColumns(rows),
    rows.map((c) => c.externalId ?? null),
    maxClockSkewSeconds,
  ]);
  let at = 0;
  return groups.map((g) => {
    const mine = out.slice(at, (at += g.changes.length));
    return { recorded: mine.filter((r) => r.fresh).length, mapped: mine.map((r) => opts.mapped && r.mapped) };
  });
}

/**
 * One statement (one round trip, one commit): the change feed, the snapshot fold of the changes newly inserted
 * (newest reading per key wins; a stored reading dated beyond the clock-skew allowance never blocks a newer one),
 * optionally the hand-off rows, and per change, in order: whether its key is mapped, and whether it was newly
 * recorded (no eventId, or the first of its eventId that was inserted). The snapshot fold reads the feed rows from
 * the insert's RETURNING: a statement does not see its own CTEs' writes. Whether a key is mapped is one index
 * probe per change (LATERAL ... LIMIT 1): a join let the planner hash all of `mappings`, twice per group (80 of
 * 120 ms for 500 events over 56,000 mappings), a cost that grows with the catalogue. (Comments stay out of the SQL: it
 * is long enough already for pg_stat_activity, which keeps its first 1,024 bytes.)
 */
function recordSql(handoff: boolean): string {
  return `WITH incoming AS (
      SELECT r.*, row_number() OVER (PARTITION BY r.source, r.external_id ORDER BY r.ord) = 1 AS first_of_id
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::text[])
             WITH ORDINALITY AS r(source, shop_id, sku, location_id, quantity, occurred_at, external_id, ord)
    ), keyed AS (
      SELECT i.*, mm.hit IS NOT NULL AS mapped
        FROM incoming i
        LEFT JOIN LATERAL (SELECT true AS hit FROM mappings m
                            WHERE m.shop_id = i.shop_id AND m.sku = i.sku AND m.location_id = i.location_id LIMIT 1) mm ON true
    ), inserted AS (
      INSERT INTO source_changes (source, shop_id, sku, location_id, quantity, occurred_at, external_id)
      SELECT source, shop_id, sku, location_id, quantity, occurred_at, external_id FROM incoming ORDER BY ord
      ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING
      RETURNING cursor, source, shop_id, sku, location_id, quantity, occurred_at, external_id
    ), folded AS (
      INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at, cursor)
      SELECT DISTINCT ON (source, shop_id, sku, location_id) source, shop_id, sku, location_id, quantity, occurred_at, cursor
        FROM inserted ORDER BY source, shop_id, sku, location_id, occurred_at DESC, cursor DESC
      ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
        SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, cursor = EXCLUDED.cursor, updated_at = now()
        WHERE s.occurred_at <= EXCLUDED.occurred_at OR s.occurred_at > now() + make_interval(secs => $8)
      RETURNING 1
    )${
      handoff
        ? `, handed AS (
      INSERT INTO refresh_handoffs (shop_id, sku, location_id, trigger)
      SELECT DISTINCT shop_id, sku, location_id, 'source_event:' || source FROM keyed WHERE mapped
      RETURNING 1
    )`
        : ''
    }
    SELECT i.mapped,
           i.external_id IS NULL OR (i.first_of_id AND x.external_id IS NOT NULL) AS fresh
      FROM keyed i
      LEFT JOIN (SELECT DISTINCT source, external_id FROM inserted WHERE external_id IS NOT NULL) x USING (source, external_id)
     ORDER BY i.ord`;
}

/** How many readings of a source are stored (what a full sync read last time). */
export async function countSnapshots(db: Pick<Db, 'query'>, source: string): Promise<number> {
  return countOf(db, 'SELECT count(*)::int AS n FROM source_snapshots WHERE source = $1', [source]);
}
