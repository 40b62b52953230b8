/** Shopify global ids: gid://shopify/<Type>/<number>. Numeric ids are shared across shops, as in Shopify. */
export type GidType =
  | 'InventoryItem'
  | 'InventoryLevel'
  | 'Location'
  | 'Product'
  | 'ProductVariant'
  | 'Order'
  | 'LineItem'
  | 'FulfillmentOrder'
  | 'FulfillmentOrderLineItem'
  | 'InventoryAdjustmentGroup'
  | 'BulkOperation'
  | 'Customer'
  | 'WebhookEvent';

export function gid(type: GidType, id: number): string {
  return `gid://shopify/${type}/${id}`;
}

/** InventoryLevel ids carry the item as a query parameter, like Shopify's. */
export function levelGid(locationId: number, inventoryItemId: number): string {
  return `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${inventoryItemId}`;
}

export interface ParsedGid {
  type: string;
  id: number;
  params: URLSearchParams;
}

export function parseGid(value: string): ParsedGid | undefined {
  const m = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)(?:\?(.*))?$/.exec(value);
  if (!m) return undefined;
  return { type: m[1]!, id: Number(m[2]), params: new URLSearchParams(m[3] ?? '') };
}

/** Numeric id of a gid of the expected type (or a bare number string); undefined when it is not one. */
export function idOf(value: string | number, type: GidType): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const p = parseGid(value);
  return p && p.type === type ? p.id : undefined;
}

/**
 * Ids start from the clock, like Shopify's 13-digit ids, so an emulator restarted beside a database that
 * outlives it (the demo's) never hands out an order id that already has a reservation.
 */
export class IdSequence {
  private next = Date.now();
  take(): number {
    this.next += 1;
    return this.next;
  }
  reset(): void {
    this.next = Math.max(this.next, Date.now());
  }
}
