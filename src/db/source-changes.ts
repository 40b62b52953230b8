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

/**
 * Records changes durably in one transaction: appended to the change feed, and folded into the snapshot unless
 * the snapshot already holds a later reading (events may arrive out of order). A stored reading dated beyond the
 * clock-skew allowance (a source clock that ran ahead, before the edge refused such events) never blocks a newer one.
 */
export async function recordSourceChanges(db: Db, source: string, changes: IncomingChange[], maxClockSkewSeconds = DEFAULT_MAX_CLOCK_SKEW_SECONDS): Promise<{ recorded: number }> {
  if (changes.length === 0) return { recorded: 0 };
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<{ cursor: string; shop_id: string; sku: string; location_id: string }>(
      `INSERT INTO source_changes (source, shop_id, sku, location_id, quantity, occurred_at, external_id)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::text[])
       ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING
       RETURNING cursor::text, shop_id, sku, location_id`,
      [source, ...changeColumns(changes), changes.map((c) => c.externalId ?? null)],
    );
    await client.query(
      `INSERT INTO source_snapshots AS s (source, shop_id, sku, location_id, quantity, occurred_at, cursor)
       SELECT DISTINCT ON (c.shop_id, c.sku, c.location_id) c.source, c.shop_id, c.sku, c.location_id, c.quantity, c.occurred_at, c.cursor
         FROM source_changes c WHERE c.cursor = ANY($1::bigint[])
        ORDER BY c.shop_id, c.sku, c.location_id, c.occurred_at DESC, c.cursor DESC
       ON CONFLICT (source, shop_id, sku, location_id) DO UPDATE
         SET quantity = EXCLUDED.quantity, occurred_at = EXCLUDED.occurred_at, cursor = EXCLUDED.cursor, updated_at = now()
         WHERE s.occurred_at <= EXCLUDED.occurred_at OR s.occurred_at > now() + make_interval(secs => $2)`,
      [rows.map((r) => r.cursor), maxClockSkewSeconds],
    );
    return { recorded: rows.length };
  });
}

/** How many readings of a source are stored (what a full sync read last time). */
export async function countSnapshots(db: Pick<Db, 'query'>, source: string): Promise<number> {
  return countOf(db, 'SELECT count(*)::int AS n FROM source_snapshots WHERE source = $1', [source]);
}
