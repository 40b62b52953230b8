import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyTemporalSchema } from '../../src/temporal/postgres-server.js';

/** The schema tool's failures, against the machine's PostgreSQL (needs the tool: built by this suite's setup). */
const postgresUrl = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
const clash = `isync_schema_denied_${process.pid}`;
const role = `isync_schema_user_${process.pid}`;

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
  afterAll(() =>
    admin('postgres', async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${clash} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${role}`);
    }),
  );

  it("a user without rights on the database is ISYNC_TEMPORAL_SCHEMA_FAILED naming the database, PostgreSQL's reason and the fix", async () => {
    // A database somebody else owns: since PostgreSQL 15 only its owner may create tables in its public schema.
    await admin('postgres', async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN`);
      await c.query(`CREATE DATABASE ${clash}`);
    });
    const asRole = postgresUrl.replace(/\/\/[^@/]*@|\/\//, `//${role}@`);
    const failure = await applyTemporalSchema({ postgresUrl: asRole, database: clash, schema: 'temporal' }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'ISYNC_TEMPORAL_SCHEMA_FAILED' });
    const message = (failure as Error).message;
    expect(message).toContain(`the temporal schema cannot be applied to the database "${clash}" on 127.0.0.1:5432 as "${role}" (setup-schema failed: pq: permission denied for schema public)`);
    expect(message).toContain(`ALTER DATABASE ${clash} OWNER TO ${role}`);
    // Nothing half-written: the database has no table of Temporal's.
    expect(await admin(clash, async (c) => (await c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows)).toEqual([{ n: 0 }]);
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
