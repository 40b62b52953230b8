import { EmulatorError } from './errors.js';
import type { FulfillmentOrderRecord, LineItemRecord, Order } from './order-records.js';
import type { ShopState, StoredQuantityName, VariantRecord } from './state.js';

export interface OrderLineInput {
  sku?: string;
  variantId?: string | number;
  quantity: number;
}

export interface InventoryDelta {
  itemId: number;
  locationId: number;
  name: StoredQuantityName;
  delta: number;
}

export interface OrderOutcome {
  order: Order;
  deltas: InventoryDelta[];
}

export interface MoveOutcome extends OrderOutcome {
  original: FulfillmentOrderRecord;
  moved: FulfillmentOrderRecord;
  originalLocationId: number;
}

type NewId = () => number;

function resolveVariant(shop: ShopState, line: OrderLineInput, index: number): VariantRecord {
  let variant: VariantRecord | undefined;
  if (line.variantId !== undefined) {
    const raw = String(line.variantId);
    const id = Number(raw.replace(/^gid:\/\/shopify\/ProductVariant\//, ''));
    variant = shop.variants.get(id);
  } else if (line.sku !== undefined) {
    variant = [...shop.variants.values()].find((v) => v.sku === line.sku);
  }
  if (!variant) throw new EmulatorError(422, `lines[${index}]: no variant with ${line.variantId !== undefined ? `id ${line.variantId}` : `sku ${line.sku}`}`);
  return variant;
}

function availableAt(shop: ShopState, itemId: number, locationId: number): number | undefined {
  const level = shop.level(itemId, locationId);
  return level?.isActive ? level.quantities.available : undefined;
}

/** Whether `need` more units of an item can be committed at a location (oversell items only need a level). */
function canCommit(shop: ShopState, itemId: number, locationId: number, need: number): boolean {
  const avail = availableAt(shop, itemId, locationId);
  if (avail === undefined) return false;
  const item = shop.items.get(itemId)!;
  return !item.tracked || item.allowOversell || avail >= need;
}

function commitDeltas(itemId: number, locationId: number, qty: number): InventoryDelta[] {
  return [
    { itemId, locationId, name: 'available', delta: -qty },
    { itemId, locationId, name: 'committed', delta: qty },
  ];
}

function trackedOnly(shop: ShopState, deltas: InventoryDelta[]): InventoryDelta[] {
  return deltas.filter((d) => shop.items.get(d.itemId)?.tracked && d.delta !== 0);
}

export function placeOrder(
  shop: ShopState,
  input: { lines: OrderLineInput[]; locationId?: number; sourceName?: string },
  newId: NewId,
  now: string,
): OrderOutcome {
  if (input.lines.length === 0) throw new EmulatorError(422, 'an order needs at least one line');
  const lines = input.lines.map((l, i) => ({ variant: resolveVariant(shop, l, i), quantity: l.quantity }));
  const need = new Map<number, number>();
  for (const l of lines) need.set(l.variant.inventoryItemId, (need.get(l.variant.inventoryItemId) ?? 0) + l.quantity);
  const fits = (locId: number) => [...need].every(([itemId, q]) => canCommit(shop, itemId, locId, q));
  let locationId: number;
  if (input.locationId !== undefined) {
    if (!shop.locations.has(input.locationId)) throw new EmulatorError(404, `unknown location ${input.locationId}`);
    if (!fits(input.locationId)) throw new EmulatorError(422, `not enough available stock at location ${input.locationId} for this order`);
    locationId = input.locationId;
  } else {
    // Routing: the first active location (in creation order) that can take every line.
    const found = [...shop.locations.values()].find((l) => l.isActive && fits(l.id));
    if (!found) throw new EmulatorError(422, 'not enough available stock at any location for this order (and the items do not allow overselling)');
    locationId = found.id;
  }
  shop.orderNumber += 1;
  const orderId = newId();
  const sourceName = input.sourceName ?? 'web';
  const lineItems: LineItemRecord[] = lines.map((l) => ({
    __typename: 'LineItem',
    id: newId(),
    variantId: l.variant.id,
    productId: l.variant.productId,
    inventoryItemId: l.variant.inventoryItemId,
    sku: l.variant.sku,
    name: l.variant.title,
    quantity: l.quantity,
    currentQuantity: l.quantity,
    fulfilledQuantity: 0,
    price: l.variant.price,
  }));
  const fo: FulfillmentOrderRecord = {
    __typename: 'FulfillmentOrder',
    id: newId(),
    orderId,
    status: 'OPEN',
    locationId,
    createdAt: now,
    updatedAt: now,
    lines: lineItems.map((li) => ({ __typename: 'FulfillmentOrderLineItem', id: newId(), lineItemId: li.id, totalQuantity: li.quantity, remainingQuantity: li.quantity })),
  };
  const order: Order = {
    __typename: 'Order',
    id: orderId,
    number: shop.orderNumber,
    name: `#${shop.orderNumber}`,
    createdAt: now,
    updatedAt: now,
    cancelledAt: null,
    sourceName,
    locationId: sourceName === 'pos' ? locationId : null,
    lineItems,
    fulfillmentOrders: [fo],
  };
  shop.orders.set(orderId, order);
  const deltas = trackedOnly(shop, lineItems.flatMap((li) => commitDeltas(li.inventoryItemId, locationId, li.quantity)));
  return { order, deltas };
}

export function getOrder(shop: ShopState, orderId: number): Order {
  const order = shop.orders.get(orderId);
  if (!order) throw new EmulatorError(404, `unknown order ${orderId}`);
  return order;
}

function openFos(order: Order): FulfillmentOrderRecord[] {
  return order.fulfillmentOrders.filter((f) => f.status === 'OPEN' || f.status === 'IN_PROGRESS');
}

function lineOf(order: Order, lineItemId: number): LineItemRecord {
  return order.lineItems.find((l) => l.id === lineItemId)!;
}

export function cancelOrder(shop: ShopState, orderId: number, now: string): OrderOutcome {
  const order = getOrder(shop, orderId);
  if (order.cancelledAt) throw new EmulatorError(409, `order ${orderId} is already cancelled`);
  const deltas: InventoryDelta[] = [];
  for (const fo of openFos(order)) {
    for (const l of fo.lines) {
      const li = lineOf(order, l.lineItemId);
      deltas.push(...commitDeltas(li.inventoryItemId, fo.locationId, -l.remainingQuantity));
      l.remainingQuantity = 0;
    }
    fo.status = 'CANCELLED';
    fo.updatedAt = now;
  }
  order.cancelledAt = now;
  order.updatedAt = now;
  return { order, deltas: trackedOnly(shop, deltas) };
}

/** Line items to ship and how many of each; absent, everything still open ships. */
export interface FulfillInput {
  lines?: { lineItemId: string | number; quantity: number }[];
}

/**
 * Ships units from the open fulfillment orders: committed leaves, so on_hand drops. A fulfillment order whose lines
 * all shipped closes; one partly shipped stays open (IN_PROGRESS) with its remaining quantities, as in Shopify.
 */
export function fulfillOrder(shop: ShopState, orderId: number, now: string, input: FulfillInput = {}): OrderOutcome {
  const order = getOrder(shop, orderId);
  if (order.cancelledAt) throw new EmulatorError(409, `order ${orderId} is cancelled`);
  const fos = openFos(order);
  if (fos.length === 0) throw new EmulatorError(409, `order ${orderId} has nothing left to fulfil`);
  const wanted = new Map<number, number>();
  for (const [i, l] of (input.lines ?? []).entries()) {
    const id = Number(String(l.lineItemId).replace(/^gid:\/\/shopify\/LineItem\//, ''));
    if (!order.lineItems.some((x) => x.id === id)) throw new EmulatorError(422, `lines[${i}]: order has no line item ${l.lineItemId}`);
    if (!Number.isInteger(l.quantity) || l.quantity < 1) throw new EmulatorError(422, `lines[${i}].quantity must be a positive integer`);
    const open = fos.reduce((sum, fo) => sum + fo.lines.filter((x) => x.lineItemId === id).reduce((a, x) => a + x.remainingQuantity, 0), 0);
    if ((wanted.get(id) ?? 0) + l.quantity > open) throw new EmulatorError(422, `lines[${i}]: only ${open} unit(s) of line item ${l.lineItemId} are left to fulfil`);
    wanted.set(id, (wanted.get(id) ?? 0) + l.quantity);
  }
  const deltas: InventoryDelta[] = [];
  for (const fo of fos) {
    for (const l of fo.lines) {
      const li = lineOf(order, l.lineItemId);
      const ship = input.lines ? Math.min(l.remainingQuantity, wanted.get(l.lineItemId) ?? 0) : l.remainingQuantity;
      if (ship === 0) continue;
      if (input.lines) wanted.set(l.lineItemId, wanted.get(l.lineItemId)! - ship);
      deltas.push({ itemId: li.inventoryItemId, locationId: fo.locationId, name: 'committed', delta: -ship });
      li.fulfilledQuantity += ship;
      l.remainingQuantity -= ship;
    }
    fo.status = fo.lines.every((l) => l.remainingQuantity === 0) ? 'CLOSED' : 'IN_PROGRESS';
    fo.updatedAt = now;
  }
  order.updatedAt = now;
  return { order, deltas: trackedOnly(shop, deltas) };
}

export interface EditInput {
  lines: { lineItemId?: string | number; sku?: string; variantId?: string | number; quantity: number }[];
}

/** Sets line quantities (existing lines by id, sku or variant) and adds new lines; committed follows. */
export function editOrder(shop: ShopState, orderId: number, input: EditInput, newId: NewId, now: string): OrderOutcome {
  const order = getOrder(shop, orderId);
  if (order.cancelledAt) throw new EmulatorError(409, `order ${orderId} is cancelled`);
  const fo = openFos(order)[0];
  if (!fo) throw new EmulatorError(409, `order ${orderId} has no open fulfillment order to edit`);
  const plan: { li: LineItemRecord | undefined; variant: VariantRecord | undefined; quantity: number }[] = input.lines.map((l, i) => {
    if (l.quantity < 0) throw new EmulatorError(422, `lines[${i}].quantity cannot be negative`);
    let li: LineItemRecord | undefined;
    if (l.lineItemId !== undefined) {
      const id = Number(String(l.lineItemId).replace(/^gid:\/\/shopify\/LineItem\//, ''));
      li = order.lineItems.find((x) => x.id === id);
      if (!li) throw new EmulatorError(422, `lines[${i}]: order has no line item ${l.lineItemId}`);
      return { li, variant: undefined, quantity: l.quantity };
    }
    const variant = resolveVariant(shop, l, i);
    li = order.lineItems.find((x) => x.variantId === variant.id);
    return { li, variant: li ? undefined : variant, quantity: l.quantity };
  });
  const need = new Map<number, number>();
  for (const p of plan) {
    const itemId = p.li?.inventoryItemId ?? p.variant!.inventoryItemId;
    const delta = p.quantity - (p.li ? p.li.currentQuantity : 0);
    if (p.li && p.quantity < p.li.fulfilledQuantity) throw new EmulatorError(422, `line ${p.li.id} already has ${p.li.fulfilledQuantity} fulfilled`);
    need.set(itemId, (need.get(itemId) ?? 0) + delta);
  }
  for (const [itemId, delta] of need) {
    if (delta > 0 && !canCommit(shop, itemId, fo.locationId, delta)) {
      throw new EmulatorError(422, `not enough available stock of inventory item ${itemId} at location ${fo.locationId} for this edit`);
    }
  }
  const deltas: InventoryDelta[] = [];
  for (const p of plan) {
    if (p.li) {
      const delta = p.quantity - p.li.currentQuantity;
      p.li.currentQuantity = p.quantity;
      let fol = fo.lines.find((x) => x.lineItemId === p.li!.id);
      if (!fol) {
        fol = { __typename: 'FulfillmentOrderLineItem', id: newId(), lineItemId: p.li.id, totalQuantity: 0, remainingQuantity: 0 };
        fo.lines.push(fol);
      }
      fol.totalQuantity += delta;
      fol.remainingQuantity += delta;
      deltas.push(...commitDeltas(p.li.inventoryItemId, fo.locationId, delta));
    } else {
      const v = p.variant!;
      const li: LineItemRecord = {
        __typename: 'LineItem',
        id: newId(),
        variantId: v.id,
        productId: v.productId,
        inventoryItemId: v.inventoryItemId,
        sku: v.sku,
        name: v.title,
        quantity: p.quantity,
        currentQuantity: p.quantity,
        fulfilledQuantity: 0,
        price: v.price,
      };
      order.lineItems.push(li);
      fo.lines.push({ __typename: 'FulfillmentOrderLineItem', id: newId(), lineItemId: li.id, totalQuantity: p.quantity, remainingQuantity: p.quantity });
      deltas.push(...commitDeltas(li.inventoryItemId, fo.locationId, p.quantity));
    }
  }
  fo.updatedAt = now;
  order.updatedAt = now;
  return { order, deltas: trackedOnly(shop, deltas) };
}

export function findFulfillmentOrder(shop: ShopState, foId: number): { order: Order; fo: FulfillmentOrderRecord } {
  for (const order of shop.orders.values()) {
    const fo = order.fulfillmentOrders.find((f) => f.id === foId);
    if (fo) return { order, fo };
  }
  throw new EmulatorError(404, `unknown fulfillment order ${foId}`);
}

/** Moves all remaining units of a fulfillment order: the original closes, a new one opens at the new location. */
export function moveFulfillmentOrder(shop: ShopState, foId: number, newLocationId: number, newId: NewId, now: string): MoveOutcome {
  const { order, fo } = findFulfillmentOrder(shop, foId);
  if (fo.status !== 'OPEN') throw new EmulatorError(409, `fulfillment order ${foId} is ${fo.status}, only OPEN ones can move`);
  if (!shop.locations.has(newLocationId)) throw new EmulatorError(404, `unknown location ${newLocationId}`);
  if (newLocationId === fo.locationId) throw new EmulatorError(422, `fulfillment order ${foId} is already assigned to location ${newLocationId}`);
  for (const l of fo.lines) {
    const li = lineOf(order, l.lineItemId);
    if (l.remainingQuantity > 0 && !canCommit(shop, li.inventoryItemId, newLocationId, l.remainingQuantity)) {
      throw new EmulatorError(422, `not enough available stock of ${li.sku ?? li.inventoryItemId} at location ${newLocationId}`);
    }
  }
  const deltas: InventoryDelta[] = [];
  const moved: FulfillmentOrderRecord = {
    __typename: 'FulfillmentOrder',
    id: newId(),
    orderId: order.id,
    status: 'OPEN',
    locationId: newLocationId,
    createdAt: now,
    updatedAt: now,
    lines: [],
  };
  for (const l of fo.lines) {
    if (l.remainingQuantity === 0) continue;
    const li = lineOf(order, l.lineItemId);
    deltas.push(...commitDeltas(li.inventoryItemId, fo.locationId, -l.remainingQuantity));
    deltas.push(...commitDeltas(li.inventoryItemId, newLocationId, l.remainingQuantity));
    moved.lines.push({ __typename: 'FulfillmentOrderLineItem', id: newId(), lineItemId: li.id, totalQuantity: l.remainingQuantity, remainingQuantity: l.remainingQuantity });
    l.totalQuantity -= l.remainingQuantity;
    l.remainingQuantity = 0;
  }
  const originalLocationId = fo.locationId;
  fo.status = 'CLOSED';
  fo.updatedAt = now;
  order.fulfillmentOrders.push(moved);
  order.updatedAt = now;
  return { order, deltas: trackedOnly(shop, deltas), original: fo, moved, originalLocationId };
}

// ---------- REST JSON, as Shopify's webhooks deliver it ----------
