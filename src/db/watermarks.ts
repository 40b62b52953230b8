import type { Db } from './pool.js';

/** Where a source's sync stands: the delta watermark, or a full refresh's page checkpoint (`{source}#full`). */
export async function readWatermark(db: Pick<Db, 'query'>, name: string): Promise<string | null> {
  const { rows } = await db.query<{ cursor: string }>('SELECT cursor FROM watermarks WHERE source = $1', [name]);
  return rows[0]?.cursor ?? null;
}

/** Moves a checkpoint, counting the items read since the last one. */
export async function writeWatermark(db: Pick<Db, 'query'>, name: string, cursor: string, items: number): Promise<void> {
  await db.query(
    `INSERT INTO watermarks (source, cursor, items_processed) VALUES ($1, $2, $3)
     ON CONFLICT (source) DO UPDATE SET cursor = EXCLUDED.cursor, items_processed = watermarks.items_processed + EXCLUDED.items_processed, updated_at = now()`,
    [name, cursor, items],
  );
}

export async function deleteWatermark(db: Pick<Db, 'query'>, name: string): Promise<void> {
  await db.query('DELETE FROM watermarks WHERE source = $1', [name]);
}
