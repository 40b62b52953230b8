import mysql from 'mysql2/promise';
import pg from 'pg';

export type SqlDialectName = 'postgres' | 'mysql';
export type SqlRow = Record<string, unknown>;

/** What the SQL source needs from a database driver: placeholders, a text cast, a timestamp literal, a query. */
export interface SqlDialect {
  readonly name: SqlDialectName;
  /** The i-th (1-based) parameter. */
  param(i: number): string;
  /** The expression as text exactly as the database would compare it back (the watermark keeps full precision). */
  asText(expr: string): string;
  /** A timestamp parameter the database compares with the configured query's updated_at. */
  timestamp(at: Date): string;
  /** `(a, b) IN (...)` for many key pairs, with parameters from `first` on. */
  keysIn(columns: [string, string], keys: [string, string][], first: number): { sql: string; params: unknown[] };
  query(sql: string, params: unknown[]): Promise<SqlRow[]>;
  close(): Promise<void>;
}

/** Host, port and database of a connection string (never the user or password): what errors may name. */
export function describeConnection(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return '(unparseable connection string)';
  }
}

/** `timeoutMs` bounds every statement: PostgreSQL cancels it server-side (statement_timeout); with MySQL/MariaDB the client gives up and drops the connection. */
export function createDialect(name: SqlDialectName, connectionString: string, timeoutMs: number, poolSize = 4): SqlDialect {
  const timeout = Math.max(1, Math.floor(timeoutMs));
  return name === 'postgres' ? postgresDialect(connectionString, poolSize, timeout) : mysqlDialect(connectionString, poolSize, timeout);
}

function postgresDialect(connectionString: string, poolSize: number, timeoutMs: number): SqlDialect {
  const pool = new pg.Pool({ connectionString, max: poolSize, application_name: 'inventory-sync', statement_timeout: timeoutMs });
  pool.on('error', () => undefined);
  return {
    name: 'postgres',
    param: (i) => `$${i}`,
    asText: (expr) => `(${expr})::text`,
    timestamp: (at) => at.toISOString(),
    keysIn(columns, keys, first) {
      return {
        sql: `(${columns[0]}, ${columns[1]}) IN (SELECT * FROM unnest($${first}::text[], $${first + 1}::text[]))`,
        params: [keys.map((k) => k[0]), keys.map((k) => k[1])],
      };
    },
    query: async (sql, params) => (await pool.query(sql, params)).rows as SqlRow[],
    close: () => pool.end(),
  };
}

function mysqlDialect(connectionString: string, poolSize: number, timeoutMs: number): SqlDialect {
  const url = new URL(connectionString);
  // mysql2 understands mysql:// only; mariadb:// is the same protocol.
  if (url.protocol === 'mariadb:') url.protocol = 'mysql:';
  const pool = mysql.createPool({
    uri: url.toString(),
    connectionLimit: poolSize,
    // DATETIME/TIMESTAMP values are read and compared in UTC (the session's time_zone is set below).
    timezone: 'Z',
    dateStrings: false,
    decimalNumbers: true,
    supportBigNumbers: true,
  });
  (pool as unknown as { pool: { on(e: string, f: (c: { query(s: string): unknown }) => void): void } }).pool.on('connection', (conn) => {
    conn.query("SET time_zone = '+00:00'");
  });
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    name: 'mysql',
    param: () => '?',
    asText: (expr) => `CAST(${expr} AS CHAR)`,
    timestamp: (at) =>
      `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}.${pad(at.getUTCMilliseconds(), 3)}`,
    keysIn(columns, keys) {
      return { sql: `(${columns[0]}, ${columns[1]}) IN (${keys.map(() => '(?, ?)').join(', ')})`, params: keys.flat() };
    },
    async query(sql, params) {
      const [rows] = await pool.query({ sql, timeout: timeoutMs }, params);
      return rows as SqlRow[];
    },
    close: () => pool.end(),
  };
}

