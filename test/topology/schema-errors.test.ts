import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyTemporalSchema } from '../../src/temporal/postgres-server.js';

/** The schema tool's failures, against the machine's PostgreSQL (needs the tool: built by this suite's setup). */
const postgresUrl = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
const clash = `isync_schema_clash_${process.pid}`;

async function admin<T>(database: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: `${postgresUrl}/${database}` });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

describe("Temporal's schema on PostgreSQL", () => {
  afterAll(() => admin('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${clash} WITH (FORCE)`)));

  it('a database that already holds tables of the same names is ISYNC_TEMPORAL_SCHEMA_FAILED naming it and what to do; its tables are untouched', async () => {
    await admin('postgres', (c) => c.query(`CREATE DATABASE ${clash}`));
    // Somebody else's application: a table Temporal's schema also creates.
    await admin(clash, (c) => c.query(`CREATE TABLE namespaces (merchant text PRIMARY KEY); INSERT INTO namespaces VALUES ('theirs')`));
    const failure = await applyTemporalSchema({ postgresUrl, database: clash, schema: 'temporal' }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'ISYNC_TEMPORAL_SCHEMA_FAILED' });
    const message = (failure as Error).message;
    expect(message).toContain(`the temporal schema cannot be applied to the database "${clash}" on 127.0.0.1:5432 (update-schema failed)`);
    expect(message).toContain('namespaces');
    expect(message).toContain('pick another name with --database');
    expect(await admin(clash, async (c) => (await c.query('SELECT merchant FROM namespaces')).rows)).toEqual([{ merchant: 'theirs' }]);
  });

  it('applying the schema twice is a no-op the second time (the CLI applies it at every start)', async () => {
    const db = `${clash}_twice`;
    try {
      await applyTemporalSchema({ postgresUrl, database: db, schema: 'visibility' });
      await applyTemporalSchema({ postgresUrl, database: db, schema: 'visibility' });
      const versions = await admin(db, async (c) => (await c.query('SELECT curr_version FROM schema_version')).rows);
      expect(versions).toHaveLength(1);
    } finally {
      await admin('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
    }
  });
});
