import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { dropDatabase, ensureDatabase } from '../../src/db/pool.js';

/**
 * A merchant's own database for one test file: a fresh PostgreSQL database, or a fresh MariaDB database on
 * 127.0.0.1:3306 (root, no password; MARIADB_TEST_URL overrides), dropped at the end.
 */
export interface MerchantDb {
  dialect: 'postgres' | 'mysql';
  /** The connection string a `type: sql` source is given (through its connection_env). */
  url: string;
  exec(sql: string, params?: unknown[]): Promise<void>;
  drop(): Promise<void>;
}

export async function createMerchantDb(dialect: 'postgres' | 'mysql'): Promise<MerchantDb> {
  const name = `merchant_${dialect}_${randomUUID().slice(0, 8)}`;
  if (dialect === 'postgres') {
    const base = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
    const url = `${base}/${name}`;
    await ensureDatabase(url);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    return {
      dialect,
      url,
      exec: async (sql, params) => void (await pool.query(sql, params)),
      drop: async () => {
        await pool.end();
        await dropDatabase(url);
      },
    };
  }
  const base = process.env.MARIADB_TEST_URL ?? 'mysql://root@127.0.0.1:3306';
  const admin = await mysql.createConnection({ uri: base }).catch((err: Error) => {
    throw new Error(`MariaDB is not answering at ${base} (${err.message}). Start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`, { cause: err });
  });
  await admin.query(`CREATE DATABASE \`${name}\``);
  const url = `${base}/${name}`;
  const pool = mysql.createPool({ uri: url, connectionLimit: 2, timezone: 'Z' });
  pool.pool.on('connection', (conn) => void conn.query("SET time_zone = '+00:00'"));
  return {
    dialect,
    url,
    exec: async (sql, params) => void (await pool.query(sql, params)),
    drop: async () => {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

/** A typical ERP stock table in either dialect. */
export function stockTableDdl(dialect: 'postgres' | 'mysql'): string {
  return dialect === 'postgres'
    ? `CREATE TABLE stock (item_code varchar(64) NOT NULL, warehouse varchar(16) NOT NULL, on_hand numeric(12,0) NOT NULL, modified_at timestamptz(6) NOT NULL, PRIMARY KEY (item_code, warehouse))`
    : `CREATE TABLE stock (item_code varchar(64) NOT NULL, warehouse varchar(16) NOT NULL, on_hand decimal(12,0) NOT NULL, modified_at datetime(6) NOT NULL, PRIMARY KEY (item_code, warehouse))`;
}

/** The configured query a merchant's engineer writes for that table. */
export const STOCK_QUERY = 'SELECT item_code AS sku, warehouse AS location, on_hand AS quantity, modified_at AS updated_at FROM stock';

/** A timestamp literal both dialects take (UTC). */
export function ts(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}
