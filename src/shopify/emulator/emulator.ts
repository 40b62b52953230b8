import { EmulatorBulk } from './emulator-bulk.js';
import { gid } from './ids.js';
import type { FaultConfig, OneShotFault } from './faults.js';
import type { AdjustmentGroupRecord } from './inventory-mutations.js';
import type { ShopCounters, ShopState } from './state.js';
import type { DeliveryRecord, WebhookSettings } from './webhooks.js';
import { orderView } from './emulator-orders.js';

export { SUPPORTED_API_VERSIONS, DEFAULT_API_VERSION, type CreateShopInput, type EmulatorSettings, type LevelView } from './emulator-catalogue.js';
export type { OrderView } from './emulator-orders.js';

/**
 * The emulator's state and behaviour, shared by the GraphQL endpoint, the control API and in-process callers.
 * Built in layers, one concern a file: the catalogue (emulator-catalogue.ts), orders (emulator-orders.ts), bulk
 * operations (emulator-bulk.ts), and here the fault hooks, counters, snapshots and lifecycle the control API uses.
 */
export class Emulator extends EmulatorBulk {
  // ---------- faults, counters, lifecycle ----------

  setFaults(target: string, config: FaultConfig): void {
    if (target !== '*') this.shop(target);
    this.faults.set(target, config);
  }

  clearFaults(target?: string): void {
    this.faults.clear(target);
  }

  /** One-shot faults for the next n GraphQL requests of a shop (deterministic, unlike rates). */
  failNextRequests(domain: string, n: number, fault: OneShotFault = {}): void {
    this.shop(domain);
    this.faults.failNext(domain, n, fault);
  }

  /** Test hook: put a shop's bucket at an exact number of points. */
  setBucket(domain: string, points: number): void {
    this.shop(domain).bucket.set(points);
  }

  /** Applied adjustment groups in the order Shopify applied them (reference document, changes). */
  adjustments(domain: string): AdjustmentGroupRecord[] {
    return structuredClone(this.shop(domain).adjustmentLog);
  }

  counters(domain: string): ShopCounters & { throttleStatus: ReturnType<ShopState['bucket']['status']> } {
    const shop = this.shop(domain);
    return { ...shop.counters, mutationsAppliedByKey: { ...shop.counters.mutationsAppliedByKey }, rootFields: { ...shop.counters.rootFields }, throttleStatus: shop.bucket.status() };
  }

  webhookLog(domain: string): DeliveryRecord[] {
    return [...(this.webhooks.log.get(domain) ?? [])];
  }

  setWebhookSettings(settings: Partial<WebhookSettings>): void {
    this.webhooks.settings = { ...this.webhooks.settings, ...settings };
  }

  drainWebhooks(): Promise<void> {
    return this.webhooks.drain();
  }

  snapshot(domain: string) {
    const shop = this.shop(domain);
    return {
      shop: { domain: shop.config.domain, plan: shop.config.plan, webhookUrl: shop.config.webhookUrl, apiVersion: shop.config.apiVersion },
      locations: [...shop.locations.values()].map((l) => ({ id: gid('Location', l.id), name: l.name, isActive: l.isActive, isFulfillmentService: l.isFulfillmentService })),
      items: [...shop.items.values()].map((i) => ({
        id: gid('InventoryItem', i.id),
        sku: i.sku,
        variantId: gid('ProductVariant', i.variantId),
        tracked: i.tracked,
        allowOversell: i.allowOversell,
        levels: shop.levelsOfItem(i.id).map((l) => ({ locationId: gid('Location', l.locationId), ...this.view(l) })),
      })),
      orders: [...shop.orders.values()].map(orderView),
      bulkOperations: [...shop.bulkOperations.values()].map((b) => ({ id: gid('BulkOperation', b.id), status: b.status, objectCount: b.objectCount })),
      counters: this.counters(domain),
      faults: this.faults.snapshot()[domain] ?? null,
    };
  }

  reset(): void {
    for (const t of this.bulkTimers) clearTimeout(t);
    this.bulkTimers.clear();
    this.webhooks.clear();
    this.faults.clear();
    this.shops.clear();
    this.tokens.clear();
    this.ids.reset();
  }

  close(): void {
    for (const t of this.bulkTimers) clearTimeout(t);
    this.bulkTimers.clear();
    this.webhooks.clear();
  }
}
