import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSourceChanges } from '../../src/db/source-changes.js';
import { PostgresSnapshotSource } from '../../src/sources/postgres-snapshots.js';
import { connectTestServices, type TestServices } from '../support/services.js';

/**
 * The change feed of a pushed source is read in (xid, cursor) order as numbers. It was read in text order (the
 * ORDER BY named the `::text` output columns), so once cursors crossed a power of ten a batch ended on a smaller
 * cursor than rows it skipped, and the watermark moved past them: found by test/security/sync-bad-rows when the
 * source-event group commit changed which cursors a run's rows got.
 */
describe('change feed order', () => {
  let svc: TestServices;
  const source = `feedorder${Date.now().toString(36)}-erp`;

  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('reads cursors across a power of ten in numeric order, batch after batch, none skipped', async () => {
    // Place the next cursors just below a power of ten (forced; cursors need only grow, so others are unaffected).
    const { rows } = await svc.db.query<{ next: string }>(`SELECT nextval(pg_get_serial_sequence('source_changes', 'cursor'))::text AS next`);
    const power = 10n ** BigInt(rows[0]!.next.length + 1);
    await svc.db.query(`SELECT setval(pg_get_serial_sequence('source_changes', 'cursor'), $1::bigint)`, [String(power - 4n)]);
    const at = new Date().toISOString();
    const skus = ['A', 'B', 'C', 'D', 'E', 'F'];
    // One transaction: the order within it is the cursor's alone.
    await recordSourceChanges(svc.db, source, skus.map((sku) => ({ shopId: 'feed-shop', sku, locationId: 'WH1', quantity: 1, occurredAt: at })));
    const feed = new PostgresSnapshotSource(source, 'erp', svc.db);
    const read: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10 && read.length < skus.length; i++) {
      const batch = await feed.changesSince(cursor, 2);
      read.push(...batch.map((c) => c.sku));
      cursor = batch.at(-1)?.cursor ?? cursor;
    }
    expect(read).toEqual(skus);
    // Other test files take cursors too between the setval and the insert, so this file's rows may start a little
    // later: the feed ends on the largest of them, and they still cross the power of ten.
    const mine = await svc.db.query<{ min: string; max: string }>('SELECT min(cursor)::text AS min, max(cursor)::text AS max FROM source_changes WHERE source = $1', [source]);
    const [min, max] = [BigInt(mine.rows[0]!.min), BigInt(mine.rows[0]!.max)];
    expect(min < power && max >= power, `cursors ${min}..${max} cross ${power}`).toBe(true);
    expect(cursor).toMatch(new RegExp(`:${max}$`));
  });
});
