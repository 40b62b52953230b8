import { probe } from '../db/key-probe.js';
import type { Db } from '../db/pool.js';
import type { SnapshotPage, SourceAdapter, SourceChange, SourceRole } from './adapter.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';

/**
 * A source whose truth we keep in PostgreSQL: fed by `POST /sources/:source/events` and by pulls, with
 * `source_changes.cursor` as its change feed.
 */
export class PostgresSnapshotSource implements SourceAdapter {
  readonly storesSnapshots = true;
  constructor(
    readonly name: string,
    readonly role: SourceRole,
    private readonly db: Db,
  ) {}

  /** Whether this source's readings live in `db`: then a refresh reads them with the claims, in one statement (components.ts). */
  keptIn(db: unknown): boolean {
    return this.db === db;
  }

  async getComponents(shopId: string, keys: SkuLocation[]): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ sku: string; location_id: string; quantity: number }>(
      `SELECT s.sku, s.location_id, s.quantity
         FROM unnest($3::text[], $4::text[]) AS k(sku, location_id)
         JOIN LATERAL (${probe('source_snapshots', '$2', 'source = $1')}) s ON true`,
      [this.name, shopId, keys.map((k) => k.sku), keys.map((k) => k.locationId)],
    );
    return new Map(rows.map((r) => [skuLocationKey({ sku: r.sku, locationId: r.location_id }), r.quantity]));
  }

  /**
   * The change feed in commit-safe order: cursor `xid:seq`, only from transactions older than every one still
   * running, so a change committed late is never behind the watermark (see the change-feed migration).
   */
  async changesSince(cursor: string | null, limit: number): Promise<SourceChange[]> {
    const [xid, seq] = cursor === null ? ['0', '0'] : parseFeedCursor(cursor);
    const { rows } = await this.db.query<{ cursor: string; xid: string; shop_id: string; sku: string; location_id: string; quantity: number; occurred_at: Date }>(
      // Ordered by the columns, qualified: a bare `ORDER BY xid, cursor` names the text output columns, and sorted
      // '10' before '9', so a batch could end on a smaller cursor than rows it had not read (skipped for good).
      `SELECT c.cursor::text AS cursor, c.xid::text AS xid, c.shop_id, c.sku, c.location_id, c.quantity, c.occurred_at
         FROM source_changes c
        WHERE c.source = $1 AND (c.xid, c.cursor) > ($2::xid8, $3::bigint)
          AND c.xid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY c.xid, c.cursor LIMIT $4`,
      [this.name, xid, seq, limit],
    );
    return rows.map((r) => ({
      shopId: r.shop_id,
      sku: r.sku,
      locationId: r.location_id,
      quantity: r.quantity,
      occurredAt: r.occurred_at.toISOString(),
      cursor: `${r.xid}:${r.cursor}`,
    }));
  }

  /** Pages through the snapshot table in key order; the cursor is the last key of the previous page. */
  async snapshot(cursor: string | null, limit: number): Promise<SnapshotPage> {
    const after = cursor === null ? ['', '', ''] : (JSON.parse(cursor) as [string, string, string]);
    const { rows } = await this.db.query<{ shop_id: string; sku: string; location_id: string; quantity: number }>(
      `SELECT shop_id, sku, location_id, quantity FROM source_snapshots
        WHERE source = $1 AND (shop_id, sku, location_id) > ($2, $3, $4)
        ORDER BY shop_id, sku, location_id LIMIT $5`,
      [this.name, ...after, limit],
    );
    const last = rows.at(-1);
    return {
      readings: rows.map((r) => ({ shopId: r.shop_id, sku: r.sku, locationId: r.location_id, quantity: r.quantity })),
      nextCursor: rows.length < limit || !last ? null : JSON.stringify([last.shop_id, last.sku, last.location_id]),
    };
  }
}

function parseFeedCursor(cursor: string): [string, string] {
  const m = /^(\d+):(\d+)$/.exec(cursor);
  if (!m) throw new Error(`not a change-feed cursor of a PostgreSQL source: "${cursor}"`);
  return [m[1]!, m[2]!];
}
