import type { Db } from './pool.js';

/** Versions come from a PostgreSQL sequence: durable, so a Redis restart can never hand one out twice. */
export async function nextVersion(db: Pick<Db, 'query'>): Promise<bigint> {
  const { rows } = await db.query<{ v: string }>(`SELECT nextval('ats_version')::text AS v`);
  return BigInt(rows[0]!.v);
}
