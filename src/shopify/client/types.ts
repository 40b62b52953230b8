/** Public shapes of the Shopify client. Ids are Admin API gids, kept as strings end to end. */

export type Gid = string;

/** The subset of pino the client uses, so tests can pass a spy and production a pino child. */
export interface ClientLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface RetryPolicy {
  /** Attempts for one call that fails with 5xx, a network error, a timeout or an in-flight key. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** THROTTLED proves nothing ran, so it gets its own, larger allowance. */
  maxThrottledAttempts: number;
  requestTimeoutMs: number;
}

export type InventoryReason =
  | 'correction'
  | 'cycle_count_available'
  | 'received'
  | 'restock'
  | 'damaged'
  | 'shrinkage'
  | 'other';

export interface SetAvailableEntry {
  inventoryItemId: Gid;
  locationId: Gid;
  quantity: number;
  /** The quantity we believe Shopify holds now; null writes without a compare. */
  changeFromQuantity: number | null;
}

export interface SetAvailableOptions {
  reason?: InventoryReason;
  referenceDocumentUri?: string;
  /** Mixed into every derived idempotency key, e.g. the computation version. */
  keySalt?: string;
  /** A caller-chosen key; chunk i uses `${idempotencyKey}:${i}`. Prefer keySalt. */
  idempotencyKey?: string;
}

export type EntryResult =
  | { status: 'applied'; quantityAfter: number }
  /** Shopify holds another quantity than changeFromQuantity; `actual` is what it held when re-read. */
  | { status: 'stale'; actual: number | null }
  | { status: 'error'; code: string; message: string };

export interface AdjustAvailableChange {
  inventoryItemId: Gid;
  locationId: Gid;
  delta: number;
  changeFromQuantity: number | null;
}

export interface AdjustAvailableOptions {
  idempotencyKey: string;
  reason?: InventoryReason;
  referenceDocumentUri?: string;
}

export interface LevelPair {
  inventoryItemId: Gid;
  locationId: Gid;
}

/** Quantities by state name (available, committed, on_hand, ...). */
export type LevelQuantities = Record<string, number>;

export interface VariantRef {
  variantId: Gid;
  sku: string;
  inventoryItemId: Gid;
  productId: Gid | null;
}

export interface LocationRef {
  id: Gid;
  name: string;
  isActive: boolean | null;
}

export interface FulfillmentLine {
  lineItemId: Gid;
  sku: string | null;
  variantId: Gid | null;
  remainingQuantity: number;
  totalQuantity: number;
}

export interface OrderFulfillmentOrder {
  id: Gid;
  status: string;
  locationId: Gid | null;
  lines: FulfillmentLine[];
}

export interface OrderFulfillment {
  orderId: Gid;
  fulfillmentOrders: OrderFulfillmentOrder[];
}

export function levelKey(inventoryItemId: Gid, locationId: Gid): string {
  return `${inventoryItemId}|${locationId}`;
}
