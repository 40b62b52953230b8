import { IdSequence, gid, idOf } from './ids.js';
import { EmulatorError } from './errors.js';
import { Faults } from './faults.js';
import type { ShopifyPlan } from './plans.js';
import {
  ALL_QUANTITY_NAMES,
  QUANTITY_NAMES,
  ShopState,
  quantityOf,
  type LevelRecord,
  type QuantityName,
  type StoredQuantityName,
} from './state.js';
import { DEFAULT_WEBHOOK_SETTINGS, WebhookDispatcher, type WebhookSettings } from './webhooks.js';

export const SUPPORTED_API_VERSIONS = new Set(['2026-10']);
export const DEFAULT_API_VERSION = '2026-10';

export interface CreateShopInput {
  domain: string;
  accessToken: string;
  plan?: ShopifyPlan;
  webhookUrl?: string | null;
  webhookSecret?: string;
  apiVersion?: string;
}

export interface EmulatorSettings {
  defaultPlan?: ShopifyPlan;
  webhooks?: Partial<WebhookSettings>;
  /** Delay before a bulk operation starts and again before it completes. */
  bulkDelayMs?: number;
}

export type IdInput = string | number;


export type LevelView = Record<QuantityName, number> & { updatedAt: Record<QuantityName, string | null> };

/** The emulator's shops, their catalogue (locations, products, items) and stored quantities; the base of `Emulator`. */
export class EmulatorCatalogue {
  readonly shops = new Map<string, ShopState>();
  protected readonly tokens = new Map<string, string>();
  protected readonly ids = new IdSequence();
  readonly faults = new Faults();
  readonly webhooks: WebhookDispatcher;
  readonly defaultPlan: ShopifyPlan;
  bulkDelayMs: number;
  /** Origin the HTTP server listens on; bulk result URLs point here. */
  baseUrl = '';
  protected readonly bulkTimers = new Set<NodeJS.Timeout>();

  constructor(settings: EmulatorSettings = {}) {
    this.defaultPlan = settings.defaultPlan ?? 'standard';
    this.bulkDelayMs = settings.bulkDelayMs ?? 50;
    this.webhooks = new WebhookDispatcher({ ...DEFAULT_WEBHOOK_SETTINGS, ...settings.webhooks }, this.faults);
  }

  newId = (): number => this.ids.take();

  // ---------- shops and catalogue ----------

  createShop(input: CreateShopInput): { domain: string; plan: ShopifyPlan } {
    if (this.shops.has(input.domain)) throw new EmulatorError(409, `shop ${input.domain} already exists`);
    const owner = this.tokens.get(input.accessToken);
    if (owner) throw new EmulatorError(409, `access token already belongs to shop ${owner}`);
    const shop = new ShopState({
      domain: input.domain,
      accessToken: input.accessToken,
      plan: input.plan ?? this.defaultPlan,
      webhookUrl: input.webhookUrl ?? null,
      webhookSecret: input.webhookSecret ?? 'emulator-webhook-secret',
      apiVersion: input.apiVersion ?? DEFAULT_API_VERSION,
    });
    this.shops.set(input.domain, shop);
    this.tokens.set(input.accessToken, input.domain);
    return { domain: input.domain, plan: shop.config.plan };
  }

  updateShop(domain: string, patch: { plan?: ShopifyPlan; webhookUrl?: string | null; webhookSecret?: string }): void {
    const shop = this.shop(domain);
    if (patch.plan) shop.setPlan(patch.plan);
    if (patch.webhookUrl !== undefined) shop.config.webhookUrl = patch.webhookUrl;
    if (patch.webhookSecret !== undefined) shop.config.webhookSecret = patch.webhookSecret;
  }

  shop(domain: string): ShopState {
    const shop = this.shops.get(domain);
    if (!shop) throw new EmulatorError(404, `unknown shop ${domain}`);
    return shop;
  }

  shopByToken(token: string): ShopState | undefined {
    const domain = this.tokens.get(token);
    return domain ? this.shops.get(domain) : undefined;
  }

  createLocation(domain: string, input: { name: string; isActive?: boolean; fulfillmentService?: boolean }): { id: string } {
    const shop = this.shop(domain);
    const id = this.newId();
    shop.locations.set(id, { __typename: 'Location', id, name: input.name, isActive: input.isActive ?? true, isFulfillmentService: input.fulfillmentService ?? false });
    return { id: gid('Location', id) };
  }

  /** Creates a product with one variant and its inventory item, stocked (at zero) at every existing location. */
  createProduct(
    domain: string,
    input: { sku: string | null; title?: string; price?: string; tracked?: boolean; allowOversell?: boolean },
  ): { productId: string; variantId: string; inventoryItemId: string } {
    const shop = this.shop(domain);
    const now = new Date().toISOString();
    const productId = this.newId();
    const variantId = this.newId();
    const itemId = this.newId();
    const title = input.title ?? `Product ${input.sku ?? productId}`;
    shop.products.set(productId, { __typename: 'Product', id: productId, title });
    shop.variants.set(variantId, {
      __typename: 'ProductVariant',
      id: variantId,
      productId,
      sku: input.sku,
      title,
      price: input.price ?? '10.00',
      inventoryItemId: itemId,
    });
    shop.items.set(itemId, {
      __typename: 'InventoryItem',
      id: itemId,
      sku: input.sku,
      tracked: input.tracked ?? true,
      allowOversell: input.allowOversell ?? false,
      variantId,
      createdAt: now,
      updatedAt: now,
    });
    for (const loc of shop.locations.values()) shop.ensureLevel(itemId, loc.id, now);
    return { productId: gid('Product', productId), variantId: gid('ProductVariant', variantId), inventoryItemId: gid('InventoryItem', itemId) };
  }

  createVariant = this.createProduct;
  createInventoryItem = this.createProduct;

  protected itemId(shop: ShopState, raw: IdInput): number {
    const id = idOf(raw, 'InventoryItem');
    if (id === undefined || !shop.items.has(id)) throw new EmulatorError(404, `unknown inventory item ${raw}`);
    return id;
  }

  protected locationId(shop: ShopState, raw: IdInput): number {
    const id = idOf(raw, 'Location');
    if (id === undefined || !shop.locations.has(id)) throw new EmulatorError(404, `unknown location ${raw}`);
    return id;
  }

  /** Seeding: sets stored states directly (no idempotency, no compare, no webhook). */
  setQuantities(domain: string, item: IdInput, location: IdInput, quantities: Partial<Record<StoredQuantityName, number>>): LevelView {
    const shop = this.shop(domain);
    const itemId = this.itemId(shop, item);
    const locationId = this.locationId(shop, location);
    const now = new Date().toISOString();
    const level = shop.ensureLevel(itemId, locationId, now);
    level.isActive = true;
    for (const name of QUANTITY_NAMES) {
      const v = quantities[name];
      if (v === undefined) continue;
      level.quantities[name] = v;
      level.updatedAt[name] = now;
      if (name !== 'incoming') level.updatedAt.on_hand = now;
    }
    return this.view(level);
  }

  getLevel(domain: string, item: IdInput, location: IdInput): LevelView {
    const shop = this.shop(domain);
    const level = shop.level(this.itemId(shop, item), this.locationId(shop, location));
    if (!level) throw new EmulatorError(404, `item ${item} is not stocked at location ${location}`);
    return this.view(level);
  }

  protected view(level: LevelRecord): LevelView {
    const q = Object.fromEntries(ALL_QUANTITY_NAMES.map((n) => [n, quantityOf(level, n)])) as Record<QuantityName, number>;
    return { ...q, updatedAt: { ...level.updatedAt } };
  }
}
