/** What the emulator stores of an order: line items and fulfillment orders, as Shopify models them. */
export type FulfillmentOrderStatus = 'OPEN' | 'IN_PROGRESS' | 'CANCELLED' | 'INCOMPLETE' | 'CLOSED' | 'SCHEDULED' | 'ON_HOLD';

export interface LineItemRecord {
  __typename: 'LineItem';
  id: number;
  variantId: number;
  productId: number;
  inventoryItemId: number;
  sku: string | null;
  name: string;
  quantity: number;
  currentQuantity: number;
  fulfilledQuantity: number;
  price: string;
}

export interface FulfillmentOrderLineRecord {
  __typename: 'FulfillmentOrderLineItem';
  id: number;
  lineItemId: number;
  totalQuantity: number;
  remainingQuantity: number;
}

export interface FulfillmentOrderRecord {
  __typename: 'FulfillmentOrder';
  id: number;
  orderId: number;
  status: FulfillmentOrderStatus;
  locationId: number;
  createdAt: string;
  updatedAt: string;
  lines: FulfillmentOrderLineRecord[];
}

export interface Order {
  __typename: 'Order';
  id: number;
  number: number;
  name: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  sourceName: string;
  locationId: number | null;
  lineItems: LineItemRecord[];
  fulfillmentOrders: FulfillmentOrderRecord[];
}

/** How far an order has shipped (null: nothing yet). */
export function fulfillmentStatus(order: Order): 'fulfilled' | 'partial' | null {
  const live = order.lineItems.filter((l) => l.currentQuantity > 0);
  const shipped = live.reduce((s, l) => s + l.fulfilledQuantity, 0);
  if (live.length > 0 && live.every((l) => l.fulfilledQuantity >= l.currentQuantity)) return 'fulfilled';
  return shipped > 0 ? 'partial' : null;
}
