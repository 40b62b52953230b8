import { LeakyBucket } from './bucket.js';
import { IdempotencyStore } from './idempotency.js';
import { PLAN_LIMITS, type ShopifyPlan } from './plans.js';
import type { Order } from './order-records.js';
import type { BulkOperationRecord } from './bulk.js';
import type { AdjustmentGroupRecord } from './inventory-mutations.js';

/** How many applied adjustment groups a shop remembers for the control API (oldest dropped first). */
export const ADJUSTMENT_LOG_LIMIT = 10_000;

export const QUANTITY_NAMES = [
  'available',
  'committed',
  'reserved',
  'damaged',
  'safety_stock',
  'quality_control',
  'incoming',
] as const;
export type StoredQuantityName = (typeof QUANTITY_NAMES)[number];
export type QuantityName = StoredQuantityName | 'on_hand';
export const ALL_QUANTITY_NAMES: readonly QuantityName[] = [...QUANTITY_NAMES, 'on_hand'];

/** The states that make up on_hand (Shopify's definition; incoming is not on hand). */
const ON_HAND_PARTS: readonly StoredQuantityName[] = QUANTITY_NAMES.filter((n) => n !== 'incoming');

export function isQuantityName(n: string): n is QuantityName {
  return (ALL_QUANTITY_NAMES as readonly string[]).includes(n);
}

export interface LocationRecord {
  __typename: 'Location';
  id: number;
  name: string;
  isActive: boolean;
  /** A fulfillment service's location: Shopify's `locations` lists it only with `includeLegacy: true`. */
  isFulfillmentService: boolean;
}

export interface ProductRecord {
  __typename: 'Product';
  id: number;
  title: string;
}

export interface VariantRecord {
  __typename: 'ProductVariant';
  id: number;
  productId: number;
  sku: string | null;
  title: string;
  price: string;
  inventoryItemId: number;
}

export interface InventoryItemRecord {
  __typename: 'InventoryItem';
  id: number;
  sku: string | null;
  tracked: boolean;
  allowOversell: boolean;
  variantId: number;
  createdAt: string;
  updatedAt: string;
}

export interface LevelRecord {
  __typename: 'InventoryLevel';
  itemId: number;
  locationId: number;
  isActive: boolean;
  createdAt: string;
  quantities: Record<StoredQuantityName, number>;
  updatedAt: Record<QuantityName, string | null>;
}

export interface QuantityChange {
  itemId: number;
  locationId: number;
  name: QuantityName;
  delta: number;
  quantityAfterChange: number;
  ledgerDocumentUri?: string | null;
}

export interface ShopConfig {
  domain: string;
  accessToken: string;
  plan: ShopifyPlan;
  webhookUrl: string | null;
  webhookSecret: string;
  apiVersion: string;
}

export interface ShopCounters {
  calls: number;
  costSpent: number;
  requestedCost: number;
  throttled: number;
  errors5xx: number;
  /** Of errors5xx: answered 5xx after the request ran (the lost response). */
  errors5xxAfterApply: number;
  timeouts: number;
  mutationsApplied: number;
  mutationsAppliedByKey: Record<string, number>;
  idempotentReplays: number;
  webhooksSent: number;
  webhooksFailed: number;
  webhooksDropped: number;
  webhooksDuplicated: number;
  /** Held back by the webhookReorder fault until a later event had gone out. */
  webhooksReordered: number;
  bulkOperations: number;
  /** Executed queries and mutations by top-level field (`order`, `locations`, `inventorySetQuantities`, ...). */
  rootFields: Record<string, number>;
}

export function emptyCounters(): ShopCounters {
  return {
    calls: 0,
    costSpent: 0,
    requestedCost: 0,
    throttled: 0,
    errors5xx: 0,
    errors5xxAfterApply: 0,
    timeouts: 0,
    mutationsApplied: 0,
    mutationsAppliedByKey: {},
    idempotentReplays: 0,
    webhooksSent: 0,
    webhooksFailed: 0,
    webhooksDropped: 0,
    webhooksDuplicated: 0,
    webhooksReordered: 0,
    bulkOperations: 0,
    rootFields: {},
  };
}

export function levelKey(itemId: number, locationId: number): string {
  return `${itemId}:${locationId}`;
}

export function onHand(level: LevelRecord): number {
  return ON_HAND_PARTS.reduce((sum, n) => sum + level.quantities[n], 0);
}

export function quantityOf(level: LevelRecord, name: QuantityName): number {
  return name === 'on_hand' ? onHand(level) : level.quantities[name];
}

/**
 * A shop's inventory levels, held per item (a million levels must not cost a million string keys, and an item's
 * levels must be found without scanning every level). Reads like a Map keyed by `levelKey(item, location)`.
 */
export class LevelStore {
  private readonly byItem = new Map<number, Map<number, LevelRecord>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  of(itemId: number, locationId: number): LevelRecord | undefined {
    return this.byItem.get(itemId)?.get(locationId);
  }

  get(key: string): LevelRecord | undefined {
    const colon = key.indexOf(':');
    return this.of(Number(key.slice(0, colon)), Number(key.slice(colon + 1)));
  }

  add(level: LevelRecord): void {
    let atItem = this.byItem.get(level.itemId);
    if (!atItem) {
      atItem = new Map();
      this.byItem.set(level.itemId, atItem);
    }
    if (!atItem.has(level.locationId)) this.count += 1;
    atItem.set(level.locationId, level);
  }

  /** An item's levels in the order they were created. */
  ofItem(itemId: number): LevelRecord[] {
    const atItem = this.byItem.get(itemId);
    return atItem ? [...atItem.values()] : [];
  }

  *values(): IterableIterator<LevelRecord> {
    for (const atItem of this.byItem.values()) yield* atItem.values();
  }

  [Symbol.iterator](): IterableIterator<LevelRecord> {
    return this.values();
  }
}

/** Everything the emulator knows about one shop. Maps keep insertion order, which is also id order. */
export class ShopState {
  readonly locations = new Map<number, LocationRecord>();
  readonly products = new Map<number, ProductRecord>();
  readonly variants = new Map<number, VariantRecord>();
  readonly items = new Map<number, InventoryItemRecord>();
  readonly levels = new LevelStore();
  /** Line numbers (1-based) of the next bulk result to write broken, as a failed write would (a fault for tests). */
  bulkCorruptLines = new Set<number>();
  readonly orders = new Map<number, Order>();
  readonly bulkOperations = new Map<number, BulkOperationRecord>();
  readonly idempotency = new IdempotencyStore();
  /** Every adjustment group applied, in the order applied: what an audit of "which write landed when" reads. */
  readonly adjustmentLog: AdjustmentGroupRecord[] = [];
  readonly bucket: LeakyBucket;
  counters: ShopCounters = emptyCounters();
  orderNumber = 1000;

  constructor(public config: ShopConfig) {
    this.bucket = new LeakyBucket(PLAN_LIMITS[config.plan]);
  }

  logAdjustment(group: AdjustmentGroupRecord): void {
    this.adjustmentLog.push(group);
    if (this.adjustmentLog.length > ADJUSTMENT_LOG_LIMIT) this.adjustmentLog.splice(0, this.adjustmentLog.length - ADJUSTMENT_LOG_LIMIT);
  }

  setPlan(plan: ShopifyPlan): void {
    this.config.plan = plan;
    this.bucket.setLimits(PLAN_LIMITS[plan]);
  }

  level(itemId: number, locationId: number): LevelRecord | undefined {
    return this.levels.of(itemId, locationId);
  }

  ensureLevel(itemId: number, locationId: number, now: string): LevelRecord {
    let level = this.levels.of(itemId, locationId);
    if (!level) {
      // Literal shapes, not Object.fromEntries: a million levels share two hidden classes (~50 bytes less each).
      const quantities: Record<StoredQuantityName, number> = { available: 0, committed: 0, reserved: 0, damaged: 0, safety_stock: 0, quality_control: 0, incoming: 0 };
      const updatedAt: Record<QuantityName, string | null> = { available: null, committed: null, reserved: null, damaged: null, safety_stock: null, quality_control: null, incoming: null, on_hand: null };
      level = { __typename: 'InventoryLevel', itemId, locationId, isActive: true, createdAt: now, quantities, updatedAt };
      this.levels.add(level);
    }
    return level;
  }

  levelsOfItem(itemId: number): LevelRecord[] {
    return this.levels.ofItem(itemId);
  }

  levelsAtLocation(locationId: number): LevelRecord[] {
    return [...this.levels.values()].filter((l) => l.locationId === locationId);
  }

  itemBySku(sku: string): InventoryItemRecord | undefined {
    for (const item of this.items.values()) if (item.sku === sku) return item;
    return undefined;
  }

  /**
   * Applies deltas to stored states; on_hand follows from its parts. Returns one change per stored state touched
   * plus the resulting on_hand change per level, in the order Shopify lists them (the named state, then on_hand).
   */
  applyDeltas(
    deltas: { itemId: number; locationId: number; name: StoredQuantityName; delta: number; ledgerDocumentUri?: string | null }[],
    now: string,
  ): QuantityChange[] {
    const changes: QuantityChange[] = [];
    const onHandBefore = new Map<string, number>();
    // Levels a delta of a state other than `incoming` touched: their on_hand change is listed (a Set, not a scan
    // of every delta per level, which was quadratic in a 250-entry call).
    const touchesOnHand = new Set<string>();
    for (const d of deltas) {
      const level = this.ensureLevel(d.itemId, d.locationId, now);
      const key = levelKey(d.itemId, d.locationId);
      if (!onHandBefore.has(key)) onHandBefore.set(key, onHand(level));
      if (d.name !== 'incoming') touchesOnHand.add(key);
      level.quantities[d.name] += d.delta;
      level.updatedAt[d.name] = now;
      changes.push({
        itemId: d.itemId,
        locationId: d.locationId,
        name: d.name,
        delta: d.delta,
        quantityAfterChange: level.quantities[d.name],
        ...(d.ledgerDocumentUri !== undefined ? { ledgerDocumentUri: d.ledgerDocumentUri } : {}),
      });
    }
    for (const [key, before] of onHandBefore) {
      const level = this.levels.get(key)!;
      const after = onHand(level);
      if (after !== before) level.updatedAt.on_hand = now;
      if (touchesOnHand.has(key)) {
        changes.push({ itemId: level.itemId, locationId: level.locationId, name: 'on_hand', delta: after - before, quantityAfterChange: after });
      }
    }
    const item = (id: number) => this.items.get(id);
    for (const d of deltas) {
      const it = item(d.itemId);
      if (it) it.updatedAt = now;
    }
    return changes;
  }
}
