/** One sellable unit of stock we maintain: a SKU at one of a shop's locations. */
export interface InventoryKey {
  shopId: string;
  sku: string;
  locationId: string;
}

/**
 * Orders from our own channels (POST /orders) live in an id space of their own, so no channel can name a
 * Shopify order: `ext:{channel}:{id}` is the order id in the database and `reservation:{shop}:ext:{channel}:{id}`
 * the workflow id. Shopify order ids never contain a colon.
 */
export function externalOrderId(channel: string, orderId: string): string {
  return `ext:${channel}:${orderId}`;
}

export function isExternalOrderId(orderId: string): boolean {
  return orderId.startsWith('ext:');
}

/** The shop's refresh workflow and its signal, as clients name them (the workflow defines them by these). */
export const SHOP_REFRESH_WORKFLOW_TYPE = 'shopRefreshWorkflow';
export const KEYS_DIRTY_SIGNAL = 'keysDirty';
/** The refresh workflow's query of the number of keys waiting for a flush. */
export const PENDING_QUERY = 'pending';

/** Workflow ids users and operators can type: derived from domain ids only, never random. */
export const workflowIds = {
  reservation: (shopId: string, orderId: string) => `reservation:${shopId}:${orderId}`,
  refresh: (shopId: string) => `refresh:${shopId}`,
  deltaSync: (source: string) => `delta-sync:${source}`,
  reconcile: (shopId: string) => `reconcile:${shopId}`,
  housekeeping: 'housekeeping',
};

export const scheduleIds = {
  deltaSync: (source: string) => `delta-sync:${source}`,
  reconcile: (shopId: string) => `reconcile:${shopId}`,
  housekeeping: 'housekeeping',
};
