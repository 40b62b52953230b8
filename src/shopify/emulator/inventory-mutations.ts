import { idOf } from './ids.js';
import type { InventoryUserErrorCode } from './schema.js';
import {
  isQuantityName,
  levelKey,
  quantityOf,
  type LevelRecord,
  type QuantityChange,
  type QuantityName,
  type ShopState,
  type StoredQuantityName,
} from './state.js';

export const MAX_QUANTITY = 1_000_000_000;

export const REASONS = new Set([
  'correction',
  'cycle_count_available',
  'damaged',
  'movement_created',
  'movement_updated',
  'movement_received',
  'movement_canceled',
  'other',
  'promotion',
  'quality_control',
  'received',
  'reservation_created',
  'reservation_deleted',
  'reservation_updated',
  'restock',
  'safety_stock',
  'shrinkage',
]);

/** States an app may adjust or move (committed is Shopify's own). */
const ADJUSTABLE = new Set<QuantityName>(['available', 'on_hand', 'reserved', 'damaged', 'safety_stock', 'quality_control', 'incoming']);
const MOVABLE = new Set<QuantityName>(['available', 'reserved', 'damaged', 'safety_stock', 'quality_control', 'incoming']);

export interface UserError {
  code: InventoryUserErrorCode;
  field: string[];
  message: string;
}

export interface AdjustmentGroupRecord {
  __typename: 'InventoryAdjustmentGroup';
  id: number;
  createdAt: string;
  reason: string;
  referenceDocumentUri: string | null;
  changes: QuantityChange[];
}

export interface MutationPayload {
  inventoryAdjustmentGroup: AdjustmentGroupRecord | null;
  userErrors: UserError[];
}

export interface MutationOutcome {
  payload: MutationPayload;
  /** Levels whose quantities changed (empty when nothing was applied). */
  touched: LevelRecord[];
}

interface Delta {
  itemId: number;
  locationId: number;
  name: StoredQuantityName;
  delta: number;
  ledgerDocumentUri?: string | null;
}

const URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

class Checker {
  readonly errors: UserError[] = [];
  constructor(private readonly shop: ShopState) {}

  err(code: InventoryUserErrorCode, field: string[], message: string): void {
    this.errors.push({ code, field, message });
  }

  item(raw: string, field: string[]) {
    const id = idOf(raw, 'InventoryItem');
    const item = id === undefined ? undefined : this.shop.items.get(id);
    if (!item) this.err('INVALID_INVENTORY_ITEM', field, `The specified inventory item could not be found: ${raw}`);
    else if (!item.tracked) this.err('NON_MUTABLE_INVENTORY_ITEM', field, 'The inventory item is not tracked, so its quantities cannot be changed.');
    return item?.tracked ? item : undefined;
  }

  location(raw: string, field: string[]) {
    const id = idOf(raw, 'Location');
    const loc = id === undefined ? undefined : this.shop.locations.get(id);
    if (!loc) this.err('INVALID_LOCATION', field, `The specified location could not be found: ${raw}`);
    return loc;
  }

  level(itemId: number, locationId: number, field: string[]) {
    const level = this.shop.level(itemId, locationId);
    if (!level || !level.isActive) this.err('ITEM_NOT_STOCKED_AT_LOCATION', field, 'The inventory item is not stocked at the location.');
    return level?.isActive ? level : undefined;
  }

  reason(reason: string) {
    if (!REASONS.has(reason)) this.err('INVALID_REASON', ['input', 'reason'], `The specified reason is invalid: ${reason}`);
  }

  referenceDocument(uri: string | null | undefined) {
    if (uri != null && !URI.test(uri)) this.err('INVALID_REFERENCE_DOCUMENT', ['input', 'referenceDocumentUri'], 'The reference document URI is not a valid URI.');
  }

  ledger(name: QuantityName, uri: string | null | undefined, field: string[]) {
    if (name === 'available') {
      if (uri != null) this.err('INVALID_LEDGER_DOCUMENT', field, 'A ledger document URI is not allowed when adjusting available.');
    } else if (uri == null) {
      this.err('INVALID_LEDGER_DOCUMENT', field, `A ledger document URI is required when changing ${name}.`);
    } else if (!URI.test(uri) || uri.startsWith('gid://shopify/')) {
      this.err('INVALID_LEDGER_DOCUMENT', field, 'The ledger document URI must be a URI that is not a Shopify global id.');
    }
  }

  compare(level: LevelRecord, name: QuantityName, expected: number | null | undefined, field: string[]) {
    if (expected === null || expected === undefined) return;
    const current = quantityOf(level, name);
    if (current !== expected) {
      this.err('CHANGE_FROM_QUANTITY_STALE', field, `The ${name} quantity is ${current}, not the expected ${expected}: it was changed by someone else.`);
    }
  }

  result(after: number, delta: number, field: string[], name: string) {
    if (after < 0 && delta < 0) this.err('INVALID_QUANTITY_NEGATIVE', field, `The ${name} quantity cannot be negative (would be ${after}).`);
    if (after > MAX_QUANTITY) this.err('INVALID_QUANTITY_TOO_HIGH', field, `The ${name} quantity cannot exceed ${MAX_QUANTITY}.`);
  }

  duplicate(seen: Set<string>, itemId: number, locationId: number, field: string[]) {
    const key = levelKey(itemId, locationId);
    if (seen.has(key)) {
      this.err('NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR', field, 'An inventory item and location pair may appear only once per call.');
      return true;
    }
    seen.add(key);
    return false;
  }
}

function finish(shop: ShopState, checker: Checker, deltas: Delta[], reason: string, referenceDocumentUri: string | null | undefined, newId: () => number, now: string): MutationOutcome {
  if (checker.errors.length > 0) return { payload: { inventoryAdjustmentGroup: null, userErrors: checker.errors }, touched: [] };
  const changes = shop.applyDeltas(deltas, now);
  const touched = [...new Set(deltas.map((d) => levelKey(d.itemId, d.locationId)))].map((k) => shop.levels.get(k)!);
  const group: AdjustmentGroupRecord = {
    __typename: 'InventoryAdjustmentGroup',
    id: newId(),
    createdAt: now,
    reason,
    referenceDocumentUri: referenceDocumentUri ?? null,
    changes,
  };
  shop.logAdjustment(group);
  return { payload: { inventoryAdjustmentGroup: group, userErrors: [] }, touched };
}

export interface SetInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  quantities: { inventoryItemId: string; locationId: string; quantity: number; changeFromQuantity?: number | null }[];
}

export function setQuantities(shop: ShopState, input: SetInput, newId: () => number, now: string): MutationOutcome {
  const c = new Checker(shop);
  if (input.name !== 'available' && input.name !== 'on_hand') {
    c.err('INVALID_NAME', ['input', 'name'], `The quantity name must be available or on_hand, not ${input.name}.`);
  }
  c.reason(input.reason);
  c.referenceDocument(input.referenceDocumentUri);
  const name = input.name as 'available' | 'on_hand';
  const seen = new Set<string>();
  const deltas: Delta[] = [];
  input.quantities.forEach((q, i) => {
    const f = (...rest: string[]) => ['input', 'quantities', String(i), ...rest];
    const item = c.item(q.inventoryItemId, f('inventoryItemId'));
    const loc = c.location(q.locationId, f('locationId'));
    if (q.quantity < 0) c.err('INVALID_QUANTITY_NEGATIVE', f('quantity'), 'The quantity cannot be negative.');
    else if (q.quantity > MAX_QUANTITY) c.err('INVALID_QUANTITY_TOO_HIGH', f('quantity'), `The quantity cannot exceed ${MAX_QUANTITY}.`);
    if (!item || !loc || c.duplicate(seen, item.id, loc.id, f())) return;
    const level = c.level(item.id, loc.id, f('locationId'));
    if (!level || (name !== 'available' && name !== 'on_hand')) return;
    c.compare(level, name, q.changeFromQuantity, f('changeFromQuantity'));
    const delta = q.quantity - quantityOf(level, name);
    // Setting on_hand moves available; refuse when that would push available below zero.
    if (name === 'on_hand') c.result(level.quantities.available + delta, delta, f('quantity'), 'available');
    deltas.push({ itemId: item.id, locationId: loc.id, name: 'available', delta });
  });
  return finish(shop, c, deltas, input.reason, input.referenceDocumentUri, newId, now);
}

export interface AdjustInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  changes: { inventoryItemId: string; locationId: string; delta: number; changeFromQuantity?: number | null; ledgerDocumentUri?: string | null }[];
}

export function adjustQuantities(shop: ShopState, input: AdjustInput, newId: () => number, now: string): MutationOutcome {
  const c = new Checker(shop);
  const validName = isQuantityName(input.name) && ADJUSTABLE.has(input.name);
  if (!validName) c.err('INVALID_QUANTITY_NAME', ['input', 'name'], `The quantity name ${input.name} cannot be adjusted.`);
  c.reason(input.reason);
  c.referenceDocument(input.referenceDocumentUri);
  const name = input.name as QuantityName;
  const seen = new Set<string>();
  const deltas: Delta[] = [];
  input.changes.forEach((ch, i) => {
    const f = (...rest: string[]) => ['input', 'changes', String(i), ...rest];
    const item = c.item(ch.inventoryItemId, f('inventoryItemId'));
    const loc = c.location(ch.locationId, f('locationId'));
    if (validName) c.ledger(name, ch.ledgerDocumentUri, f('ledgerDocumentUri'));
    if (!item || !loc || c.duplicate(seen, item.id, loc.id, f())) return;
    const level = c.level(item.id, loc.id, f('locationId'));
    if (!level || !validName) return;
    c.compare(level, name, ch.changeFromQuantity, f('changeFromQuantity'));
    c.result(quantityOf(level, name) + ch.delta, ch.delta, f('delta'), name);
    // on_hand is derived: adjusting it changes available.
    const stored: StoredQuantityName = name === 'on_hand' ? 'available' : name;
    if (name === 'on_hand') c.result(level.quantities.available + ch.delta, ch.delta, f('delta'), 'available');
    deltas.push({ itemId: item.id, locationId: loc.id, name: stored, delta: ch.delta, ledgerDocumentUri: ch.ledgerDocumentUri ?? null });
  });
  return finish(shop, c, deltas, input.reason, input.referenceDocumentUri, newId, now);
}

interface Terminal {
  locationId: string;
  name: string;
  ledgerDocumentUri?: string | null;
  changeFromQuantity?: number | null;
}

export interface MoveInput {
  reason: string;
  referenceDocumentUri: string;
  changes: { inventoryItemId: string; quantity: number; from: Terminal; to: Terminal }[];
}

export function moveQuantities(shop: ShopState, input: MoveInput, newId: () => number, now: string): MutationOutcome {
  const c = new Checker(shop);
  c.reason(input.reason);
  c.referenceDocument(input.referenceDocumentUri);
  const seen = new Set<string>();
  const deltas: Delta[] = [];
  input.changes.forEach((ch, i) => {
    const f = (...rest: string[]) => ['input', 'changes', String(i), ...rest];
    const item = c.item(ch.inventoryItemId, f('inventoryItemId'));
    const loc = c.location(ch.from.locationId, f('from', 'locationId'));
    if (ch.from.locationId !== ch.to.locationId) {
      c.err('DIFFERENT_LOCATIONS', f('to', 'locationId'), 'Quantities can only be moved between states at one location.');
    }
    if (ch.from.name === ch.to.name) c.err('SAME_QUANTITY_NAME', f('to', 'name'), 'The from and to quantity names must differ.');
    const names: QuantityName[] = [];
    for (const end of ['from', 'to'] as const) {
      const t = ch[end];
      if (!isQuantityName(t.name) || !MOVABLE.has(t.name)) {
        c.err('INVALID_QUANTITY_NAME', f(end, 'name'), `The quantity name ${t.name} cannot be moved.`);
      } else {
        names.push(t.name);
        c.ledger(t.name, t.ledgerDocumentUri, f(end, 'ledgerDocumentUri'));
      }
    }
    if (ch.quantity < 0) c.err('INVALID_QUANTITY_NEGATIVE', f('quantity'), 'The quantity to move cannot be negative.');
    if (!item || !loc || c.duplicate(seen, item.id, loc.id, f())) return;
    const level = c.level(item.id, loc.id, f('from', 'locationId'));
    if (!level || names.length !== 2) return;
    const [fromName, toName] = names as [StoredQuantityName, StoredQuantityName];
    c.compare(level, fromName, ch.from.changeFromQuantity, f('from', 'changeFromQuantity'));
    c.compare(level, toName, ch.to.changeFromQuantity, f('to', 'changeFromQuantity'));
    c.result(level.quantities[fromName] - ch.quantity, -ch.quantity, f('quantity'), fromName);
    c.result(level.quantities[toName] + ch.quantity, ch.quantity, f('quantity'), toName);
    deltas.push({ itemId: item.id, locationId: loc.id, name: fromName, delta: -ch.quantity, ledgerDocumentUri: ch.from.ledgerDocumentUri ?? null });
    deltas.push({ itemId: item.id, locationId: loc.id, name: toName, delta: ch.quantity, ledgerDocumentUri: ch.to.ledgerDocumentUri ?? null });
  });
  return finish(shop, c, deltas, input.reason, input.referenceDocumentUri, newId, now);
}
