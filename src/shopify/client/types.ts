/** Public shapes of the Shopify client. Ids are Admin API gids, kept as strings end to end. */

export type Gid = string;

/** The subset of pino the client uses, so tests can pass a spy and production a pino child. */
export interface ClientLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/** What bounds one call in time: an abort ends every wait and request at once; nothing waits past the deadline. */
export interface CallBounds {
  /** Aborting it ends the call (and any wait) at once, rejecting with the signal's reason. */
  signal?: AbortSignal;
  /** Epoch ms: a wait (Retry-After, throttle, backoff) that would end after it fails the call now instead. */
  deadlineMs?: number;
  /** Ids for the fault log (shop-level key ids, never variables). */
  context?: Record<string, unknown>;
}

/** A fault the client met and handled: told to `onFault` (metrics) and logged at warn. Ids only, never variables. */
export type ClientFault = {
  shopDomain: string;
  operation: string;
  status: number | undefined;
  attempt: number;
  delayMs: number;
  [context: string]: unknown;
} & ({ kind: 'throttled'; requestedCost: number | null; currentlyAvailable: number | null } | { kind: 'retry'; reason: string });

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

/**
 * The fence of a write: asked immediately before each send with the entries about to go, it names the
 * entries this computation may no longer write (level key -> why); they are dropped and the rest goes with a
 * new idempotency key. Throwing drops the whole send (the attempt itself was abandoned).
 */
export type WriteFence = (entries: SetAvailableEntry[]) => Promise<Map<string, string>>;

export interface SetAvailableOptions extends CallBounds {
  fence?: WriteFence;
  reason?: InventoryReason;
  referenceDocumentUri?: string;
  /** Mixed into every derived idempotency key, e.g. the computation version. */
  keySalt?: string;
  /** A caller-chosen key; chunk i uses `${idempotencyKey}:${i}`. Prefer keySalt. */
  idempotencyKey?: string;
}

export type EntryResult =
  | { status: 'applied'; quantityAfter: number }
  /**
   * Shopify holds another quantity than changeFromQuantity; `actual` is what it held when re-read, `committed`
   * its committed units at the level in the same read (read at no extra cost: the quantities list costs one object).
   */
  | { status: 'stale'; actual: number | null; committed?: number | null }
  /** Never sent: the write's fence said this computation may no longer write the entry. */
  | { status: 'dropped'; reason: string }
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
