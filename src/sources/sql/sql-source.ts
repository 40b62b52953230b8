import { Errors, type InventorySyncError } from '../../domain/errors.js';
import { quantityProblem } from '../../domain/quantity.js';
import type { SnapshotPage, SourceAdapter, SourceChange, SourceRole } from '../adapter.js';
import { describeConnection, type SqlDialect, type SqlRow } from './dialects.js';
import { type SkuLocation, skuLocationKey } from '../../domain/sku-location.js';

export interface SqlSourceOptions {
  name: string;
  role: SourceRole;
  dialect: SqlDialect;
  /** For errors: where the database is (never the credentials). */
  connection: string;
  /**
   * The merchant's query: one row per key with columns `sku`, `location`, `quantity`, `updated_at` (and `shop`
   * when one database serves several shops). It is wrapped as a derived table; we add the watermark, the keys
   * and the paging, so it has no parameters of its own.
   */
  query: string;
  /** The shop every row belongs to, when the query has no `shop` column. */
  shop?: string;
  /** A new delta run re-reads this far behind its watermark, so rows committed late are not skipped. */
  lookbackSeconds: number;
  /** Per statement (the dialect enforces it); named in timeout errors. */
  timeoutMs: number;
  /**
   * PostgreSQL only: the query returns a `txid` column (xid8, set to pg_current_xact_id() by every write), and the
   * feed is read in commit order below pg_snapshot_xmin, like our own change feed: no lookback needed.
   */
  commitOrder?: boolean;
}

/** Commit-order position: the row's transaction id, then its key. */
interface CommitCursor {
  txid: string;
  key: string[];
}

/** Keyset position in the feed: the row's updated_at as the database prints it, then its key. */
interface FeedCursor {
  at: string;
  /** The same instant as ISO 8601 (milliseconds), to compute a lookback from. */
  iso: string;
  key: string[];
  /** Set on a rewound position: rewinding it again is a no-op (an empty run must not step back further). */
  rewound?: true;
}

/**
 * A source read straight from the merchant's own database (an ERP's or a WMS's stock table), PostgreSQL or
 * MySQL/MariaDB. The change feed is `updated_at`, paged in (updated_at, [shop,] sku, location) order; a run starts
 * `lookback_seconds` behind its watermark (rewind), and the delta sync drops the re-read rows it already holds
 * (same updated_at and quantity in `source_snapshots`), so a late commit inside the window is caught once.
 */
export class SqlSource implements SourceAdapter {
  readonly name: string;
  readonly role: SourceRole;
  private readonly d: SqlDialect;

  constructor(private readonly opts: SqlSourceOptions) {
    this.name = opts.name;
    this.role = opts.role;
    this.d = opts.dialect;
  }

  private get keyColumns(): string[] {
    return this.opts.shop ? ['q.sku', 'q.location'] : ['q.shop', 'q.sku', 'q.location'];
  }

  async getComponents(shopId: string, keys: SkuLocation[]): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    if (keys.length === 0 || (this.opts.shop && this.opts.shop !== shopId)) return result;
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const params: unknown[] = [];
      const where: string[] = [];
      if (!this.opts.shop) {
        params.push(shopId);
        where.push(`q.shop = ${this.d.param(1)}`);
      }
      const inKeys = this.d.keysIn(['q.sku', 'q.location'], chunk.map((k) => [k.sku, k.locationId]), params.length + 1);
      where.push(inKeys.sql);
      params.push(...inKeys.params);
      const rows = await this.run('components', `SELECT q.sku, q.location, q.quantity FROM (${this.opts.query}) q WHERE ${where.join(' AND ')}`, params);
      for (const r of rows) result.set(skuLocationKey({ sku: String(r.sku), locationId: String(r.location) }), this.quantityOf(r));
    }
    return result;
  }

  async changesSince(cursor: string | null, limit: number): Promise<SourceChange[]> {
    if (this.opts.commitOrder) return this.changesInCommitOrder(cursor, limit);
    const after = cursor === null ? null : parseCursor(this.name, cursor);
    const cols = ['q.updated_at', ...this.keyColumns];
    const params: unknown[] = [];
    let where = '';
    if (after) {
      params.push(after.at, ...after.key);
      where = `WHERE (${cols.join(', ')}) > (${params.map((_, i) => this.d.param(i + 1)).join(', ')})`;
    }
    const rows = await this.run(
      'changes',
      `SELECT ${this.selectList()}, q.updated_at, ${this.d.asText('q.updated_at')} AS updated_at_text
         FROM (${this.opts.query}) q ${where}
        ORDER BY ${cols.join(', ')} LIMIT ${Math.floor(limit)}`,
      params,
    );
    return rows.map((r) => {
      const at = this.timeOf(r);
      const key = this.keyOf(r);
      const position: FeedCursor = { at: String(r.updated_at_text), iso: at.toISOString(), key: this.opts.shop ? [key.sku, key.locationId] : [key.shopId, key.sku, key.locationId] };
      return { ...key, quantity: this.quantityOf(r), occurredAt: at.toISOString(), cursor: JSON.stringify(position) };
    });
  }

  /**
   * Only transactions older than every one still running (pg_snapshot_xmin) are read, so a transaction that
   * commits late is never behind the watermark, however long it ran (docs/onboarding.md).
   */
  private async changesInCommitOrder(cursor: string | null, limit: number): Promise<SourceChange[]> {
    const cols = ['q.txid', ...this.keyColumns];
    const params: unknown[] = [];
    let after = '';
    if (cursor !== null) {
      const c = parseCommitCursor(this.name, cursor);
      params.push(c.txid, ...c.key);
      after = `AND (${cols.join(', ')}) > ($1::xid8, ${c.key.map((_, i) => this.d.param(i + 2)).join(', ')})`;
    }
    const rows = await this.run(
      'changes',
      `SELECT ${this.selectList()}, q.updated_at, q.txid::text AS txid_text
         FROM (${this.opts.query}) q
        WHERE q.txid < pg_snapshot_xmin(pg_current_snapshot()) ${after}
        ORDER BY ${cols.join(', ')} LIMIT ${Math.floor(limit)}`,
      params,
    );
    return rows.map((r) => {
      const key = this.keyOf(r);
      if (r.txid_text === null || r.txid_text === undefined) throw this.badRow(r, 'txid', 'expected a transaction id (xid8)');
      const position: CommitCursor = { txid: String(r.txid_text), key: this.opts.shop ? [key.sku, key.locationId] : [key.shopId, key.sku, key.locationId] };
      return { ...key, quantity: this.quantityOf(r), occurredAt: this.timeOf(r).toISOString(), cursor: JSON.stringify(position) };
    });
  }

  /** Where a new run starts: lookback_seconds before the watermark's updated_at, before every key. */
  rewind(watermark: string | null): string | null {
    if (watermark === null || this.opts.lookbackSeconds <= 0 || this.opts.commitOrder) return watermark;
    const at = parseCursor(this.name, watermark);
    if (at.rewound) return watermark;
    const since = new Date(Date.parse(at.iso) - this.opts.lookbackSeconds * 1000);
    const position: FeedCursor = { at: this.d.timestamp(since), iso: since.toISOString(), key: this.keyColumns.map(() => ''), rewound: true };
    return JSON.stringify(position);
  }

  async snapshot(cursor: string | null, limit: number): Promise<SnapshotPage> {
    const cols = this.keyColumns;
    const after = cursor === null ? null : (JSON.parse(cursor) as string[]);
    const where = after ? `WHERE (${cols.join(', ')}) > (${after.map((_, i) => this.d.param(i + 1)).join(', ')})` : '';
    const rows = await this.run('snapshot', `SELECT ${this.selectList()} FROM (${this.opts.query}) q ${where} ORDER BY ${cols.join(', ')} LIMIT ${Math.floor(limit)}`, after ?? []);
    const readings = rows.map((r) => ({ ...this.keyOf(r), quantity: this.quantityOf(r) }));
    const last = readings.at(-1);
    return {
      readings,
      nextCursor: readings.length < limit || !last ? null : JSON.stringify(this.opts.shop ? [last.sku, last.locationId] : [last.shopId, last.sku, last.locationId]),
    };
  }

  close(): Promise<void> {
    return this.d.close();
  }

  private selectList(): string {
    return `${this.opts.shop ? '' : 'q.shop, '}q.sku, q.location, q.quantity`;
  }

  private keyOf(r: SqlRow): { shopId: string; sku: string; locationId: string } {
    for (const col of this.opts.shop ? ['sku', 'location'] : ['shop', 'sku', 'location']) {
      if (r[col] === null || r[col] === undefined || r[col] === '') throw this.badRow(r, col, 'expected a value');
    }
    return { shopId: this.opts.shop ?? String(r.shop), sku: String(r.sku), locationId: String(r.location) };
  }

  private quantityOf(r: SqlRow): number {
    const raw = typeof r.quantity === 'string' && /^-?\d+(\.\d+)?$/.test(r.quantity) ? Number(r.quantity) : typeof r.quantity === 'bigint' ? Number(r.quantity) : r.quantity;
    const problem = quantityProblem(raw);
    if (problem) throw this.badRow(r, 'quantity', problem);
    return raw as number;
  }

  private timeOf(r: SqlRow): Date {
    const v = r.updated_at;
    const at = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : null;
    if (!at || Number.isNaN(at.getTime())) throw this.badRow(r, 'updated_at', 'expected a timestamp');
    return at;
  }

  private badRow(r: SqlRow, column: string, problem: string): InventorySyncError {
    return Errors.SourceFailed(`source "${this.name}": a row of the configured query (sku ${String(r.sku)}, location ${String(r.location)}) has ${column}: ${problem}`, {
      source: this.name,
      field: column,
    });
  }

  private async run(what: string, sql: string, params: unknown[]): Promise<SqlRow[]> {
    try {
      return await this.d.query(sql, params);
    } catch (err) {
      const e = err as { message?: string; code?: string };
      const where = `source "${this.name}" (${this.d.name} at ${describeConnection(this.opts.connection)}) ${what} query`;
      if (e.code === '57014' || e.code === 'PROTOCOL_SEQUENCE_TIMEOUT') throw Errors.SourceTimeout(`${where} did not answer within ${this.opts.timeoutMs} ms`, { source: this.name });
      throw Errors.SourceFailed(`${where} failed: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`, { source: this.name }, { cause: err });
    }
  }
}

function parseCommitCursor(source: string, cursor: string): CommitCursor {
  try {
    const c = JSON.parse(cursor) as CommitCursor;
    if (typeof c.txid === 'string' && /^\d+$/.test(c.txid) && Array.isArray(c.key)) return c;
  } catch {
    // reported below
  }
  throw Errors.ConfigInvalid(`the watermark of source "${source}" is not a commit-order cursor: ${cursor.slice(0, 80)}; delete its row in watermarks to start over`);
}

function parseCursor(source: string, cursor: string): FeedCursor {
  try {
    const c = JSON.parse(cursor) as FeedCursor;
    if (typeof c.at === 'string' && typeof c.iso === 'string' && Array.isArray(c.key)) return c;
  } catch {
    // reported below
  }
  throw Errors.ConfigInvalid(`the watermark of source "${source}" is not a SQL-source cursor: ${cursor.slice(0, 80)}; delete its row in watermarks to start over`);
}
