import { randomUUID } from 'node:crypto';
import { EmulatorError } from './errors.js';
import { EmulatorCatalogue, type IdInput } from './emulator-catalogue.js';
import { gid, idOf } from './ids.js';
import { fulfillmentStatus, type FulfillmentOrderRecord, type Order } from './order-records.js';
import {
  cancelOrder as cancelOrderOp,
  editOrder as editOrderOp,
  fulfillOrder as fulfillOrderOp,
  moveFulfillmentOrder as moveOp,
  placeOrder as placeOrderOp,
  type EditInput,
  type FulfillInput,
  type InventoryDelta,
  type OrderLineInput,
} from './orders.js';
import { levelToRest, orderToRest } from './rest.js';
import { levelKey, type LevelRecord, type ShopState } from './state.js';

export interface OrderView {
  id: string;
  legacyId: number;
  name: string;
  sourceName: string;
  locationId: string | null;
  cancelledAt: string | null;
  lineItems: { id: string; sku: string | null; variantId: string; quantity: number; currentQuantity: number; fulfilledQuantity: number }[];
  fulfillmentOrders: { id: string; status: string; locationId: string; lineItems: { id: string; lineItemId: string; totalQuantity: number; remainingQuantity: number }[] }[];
}

function foView(fo: FulfillmentOrderRecord): OrderView['fulfillmentOrders'][number] {
  return {
    id: gid('FulfillmentOrder', fo.id),
    status: fo.status,
    locationId: gid('Location', fo.locationId),
    lineItems: fo.lines.map((l) => ({ id: gid('FulfillmentOrderLineItem', l.id), lineItemId: gid('LineItem', l.lineItemId), totalQuantity: l.totalQuantity, remainingQuantity: l.remainingQuantity })),
  };
}

export function orderView(o: Order): OrderView {
  return {
    id: gid('Order', o.id),
    legacyId: o.id,
    name: o.name,
    sourceName: o.sourceName,
    locationId: o.locationId === null ? null : gid('Location', o.locationId),
    cancelledAt: o.cancelledAt,
    lineItems: o.lineItems.map((l) => ({
      id: gid('LineItem', l.id),
      sku: l.sku,
      variantId: gid('ProductVariant', l.variantId),
      quantity: l.quantity,
      currentQuantity: l.currentQuantity,
      fulfilledQuantity: l.fulfilledQuantity,
    })),
    fulfillmentOrders: o.fulfillmentOrders.map(foView),
  };
}

/** Merchant and customer actions on orders (place, cancel, fulfil, edit, move), and the webhooks they cause. */
export class EmulatorOrders extends EmulatorCatalogue {
  // ---------- orders ----------

  protected applyOrderDeltas(shop: ShopState, deltas: InventoryDelta[], now: string): LevelRecord[] {
    shop.applyDeltas(deltas, now);
    const keys = [...new Set(deltas.map((d) => levelKey(d.itemId, d.locationId)))];
    return keys.map((k) => shop.levels.get(k)!);
  }

  protected emitOrder(shop: ShopState, order: Order, topics: string[], levels: LevelRecord[]): void {
    // One merchant action: every delivery it causes shares the event id.
    const eventId = randomUUID();
    const body = orderToRest(order);
    for (const t of topics) this.webhooks.enqueue(shop, t, body, eventId);
    for (const level of levels) this.webhooks.enqueue(shop, 'inventory_levels/update', levelToRest(level), eventId);
  }

  placeOrder(domain: string, input: { lines: OrderLineInput[]; locationId?: IdInput; sourceName?: string }): OrderView & { rest: Record<string, unknown> } {
    const shop = this.shop(domain);
    const now = new Date().toISOString();
    const locationId = input.locationId === undefined ? undefined : this.locationId(shop, input.locationId);
    const { order, deltas } = placeOrderOp(shop, { lines: input.lines, sourceName: input.sourceName, ...(locationId !== undefined ? { locationId } : {}) }, this.newId, now);
    const levels = this.applyOrderDeltas(shop, deltas, now);
    this.emitOrder(shop, order, ['orders/create'], levels);
    return { ...orderView(order), rest: orderToRest(order) };
  }

  protected orderId(raw: IdInput): number {
    const id = idOf(raw, 'Order');
    if (id === undefined) throw new EmulatorError(404, `unknown order ${raw}`);
    return id;
  }

  cancelOrder(domain: string, orderId: IdInput): OrderView {
    const shop = this.shop(domain);
    const now = new Date().toISOString();
    const { order, deltas } = cancelOrderOp(shop, this.orderId(orderId), now);
    this.emitOrder(shop, order, ['orders/cancelled', 'orders/updated'], this.applyOrderDeltas(shop, deltas, now));
    return orderView(order);
  }

  /** Ships the whole order, or `input.lines` only (a partial fulfilment: orders/partially_fulfilled). */
  fulfillOrder(domain: string, orderId: IdInput, input: FulfillInput = {}): OrderView {
    const shop = this.shop(domain);
    const now = new Date().toISOString();
    const { order, deltas } = fulfillOrderOp(shop, this.orderId(orderId), now, input);
    const topic = fulfillmentStatus(order) === 'fulfilled' ? 'orders/fulfilled' : 'orders/partially_fulfilled';
    this.emitOrder(shop, order, [topic, 'orders/updated'], this.applyOrderDeltas(shop, deltas, now));
    return orderView(order);
  }

  editOrder(domain: string, orderId: IdInput, input: EditInput): OrderView {
    const shop = this.shop(domain);
    const now = new Date().toISOString();
    const { order, deltas } = editOrderOp(shop, this.orderId(orderId), input, this.newId, now);
    this.emitOrder(shop, order, ['orders/updated'], this.applyOrderDeltas(shop, deltas, now));
    return orderView(order);
  }

  moveFulfillmentOrder(domain: string, fulfillmentOrderId: IdInput, newLocationId: IdInput): OrderView & { movedFulfillmentOrderId: string } {
    const shop = this.shop(domain);
    const now = new Date().toISOString();
    const foId = idOf(fulfillmentOrderId, 'FulfillmentOrder');
    if (foId === undefined) throw new EmulatorError(404, `unknown fulfillment order ${fulfillmentOrderId}`);
    const out = moveOp(shop, foId, this.locationId(shop, newLocationId), this.newId, now);
    const levels = this.applyOrderDeltas(shop, out.deltas, now);
    const eventId = randomUUID();
    const terminal = (fo: FulfillmentOrderRecord, locationId: number) => ({
      id: gid('FulfillmentOrder', fo.id),
      status: fo.status.toLowerCase(),
      assigned_location_id: gid('Location', locationId),
    });
    this.webhooks.enqueue(
      shop,
      'fulfillment_orders/moved',
      {
        original_fulfillment_order: terminal(out.original, out.originalLocationId),
        moved_fulfillment_order: terminal(out.moved, out.moved.locationId),
        destination_location_id: gid('Location', out.moved.locationId),
        fulfillment_order_line_items_requested: out.moved.lines.map((l) => ({ id: gid('FulfillmentOrderLineItem', l.id), quantity: l.totalQuantity })),
        source_location: { id: gid('Location', out.originalLocationId) },
      },
      eventId,
    );
    for (const level of levels) this.webhooks.enqueue(shop, 'inventory_levels/update', levelToRest(level), eventId);
    return { ...orderView(out.order), movedFulfillmentOrderId: gid('FulfillmentOrder', out.moved.id) };
  }

  getOrder(domain: string, orderId: IdInput): OrderView & { rest: Record<string, unknown> } {
    const shop = this.shop(domain);
    const order = shop.orders.get(this.orderId(orderId));
    if (!order) throw new EmulatorError(404, `unknown order ${orderId}`);
    return { ...orderView(order), rest: orderToRest(order) };
  }

  // ---------- inventory change notifications ----------

  levelsChanged = (shop: ShopState, levels: LevelRecord[]): void => {
    const eventId = randomUUID();
    for (const level of levels) this.webhooks.enqueue(shop, 'inventory_levels/update', levelToRest(level), eventId);
  };
}
