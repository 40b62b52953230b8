import type { IdempotentField } from './preflight.js';
import type { LevelRecord, ShopState } from './state.js';
import type { BulkOperationRecord } from './bulk.js';

/** What resolvers see for one GraphQL request (or one bulk run). */
export interface RequestContext {
  shop: ShopState;
  requestId: string;
  /** Bulk runs read every page: page sizes are ignored. */
  bulk: boolean;
  /**
   * A bulk run executes its query over a window of the root connection's nodes at a time (a million levels are
   * never one result in memory); a root resolver takes `[start, start + size)` and says whether more follow.
   */
  bulkWindow?: { start: number; size: number; more: boolean };
  now: string;
  newId(): number;
  /** Inventory mutations found by preflight, by response key. */
  idempotent: Map<string, IdempotentField>;
  levelsChanged(shop: ShopState, levels: LevelRecord[]): void;
  startBulk(shop: ShopState, query: string, groupObjects: boolean): { op: BulkOperationRecord | null; userErrors: { code: string; field: string[] | null; message: string }[] };
  cancelBulk(shop: ShopState, id: number): BulkOperationRecord | undefined;
  bulkUrl(shop: ShopState, op: BulkOperationRecord): string | null;
}
