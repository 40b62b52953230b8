import { Counter, Registry } from 'prom-client';
import type { ClientFault } from '../shopify/client/types.js';

/**
 * The worker's fault counters, in one registry per process. Every retry and throttle the Shopify client met,
 * and every write a computation dropped instead of sending, is counted here (and logged where it happens).
 */
export const faultRegistry = new Registry();

export const shopifyFaults = new Counter({
  name: 'isync_shopify_faults_total',
  help: 'Shopify calls that were throttled or failed and were retried, by shop, operation and kind',
  labelNames: ['shop', 'operation', 'kind'],
  registers: [faultRegistry],
});

export const writesDropped = new Counter({
  name: 'isync_writes_dropped_total',
  help: 'Inventory entries never sent to Shopify because their computation lost the right to write them, by shop and reason',
  labelNames: ['shop', 'reason'],
  registers: [faultRegistry],
});

export function countShopifyFault(fault: ClientFault): void {
  shopifyFaults.inc({ shop: fault.shopDomain, operation: fault.operation, kind: fault.kind });
}
