import type { SourceConfig } from '../config/schema.js';
import type { SkuLocation } from '../domain/sku-location.js';

export type SourceRole = SourceConfig['role'];

export interface SourceChange {
  shopId: string;
  sku: string;
  locationId: string;
  quantity: number;
  occurredAt: string;
  /** Opaque, totally ordered position in the source's change feed. */
  cursor: string;
}

/** Every source system (ERP, WMS, POS) is reached through this interface. */
export interface SourceAdapter {
  readonly name: string;
  readonly role: SourceRole;
  /**
   * Quantities for many keys of one shop in one call. A key the source has no record of is absent from the map;
   * a failure or timeout rejects: the caller must never treat a missing answer as zero.
   */
  getComponents(shopId: string, keys: SkuLocation[], signal: AbortSignal): Promise<Map<string, number>>;
  /** Changes after `cursor` (null = from the beginning), oldest first, at most `limit`. */
  changesSince?(cursor: string | null, limit: number, signal: AbortSignal): Promise<SourceChange[]>;
  /**
   * Full-snapshot mode, for sources without a change feed (a legacy ERP; docs/design.md): every reading the source
   * holds, all shops, one page at a time in a stable order. `cursor` null starts; a null `nextCursor` ends.
   */
  snapshot?(cursor: string | null, limit: number, signal: AbortSignal): Promise<SnapshotPage>;
  /**
   * Where a new delta run starts, given the watermark the last run left: sources whose feed cannot tell a late
   * commit (a timestamp column) start a lookback window behind it; the re-read rows are deduplicated against
   * `source_snapshots`. Rewinding a rewound watermark returns it unchanged. Absent: the watermark itself.
   */
  rewind?(watermark: string | null): string | null;
  /**
   * True when the source's readings already live in our `source_snapshots` (pushed to us); otherwise the sync
   * stores what it reads there, so WMS totals convert claims however they arrive.
   */
  readonly storesSnapshots?: boolean;
  /** Releases connections (a SQL source's pool). */
  close?(): Promise<void>;
}

/** One quantity a source holds now (no event time: a snapshot is read, not reported). */
export interface SourceReading {
  shopId: string;
  sku: string;
  locationId: string;
  quantity: number;
}

export interface SnapshotPage {
  readings: SourceReading[];
  nextCursor: string | null;
}
