import type { AdjustmentGroupRecord } from './inventory-mutations.js';
import { randomUUID } from 'node:crypto';
import { execute, type DocumentNode } from 'graphql';
import { BULK_WINDOW, MAX_RUNNING_BULK, checkBulkQuery, flattenToJsonl, isRunning, type BulkOperationRecord } from './bulk.js';
import type { RequestContext } from './context.js';
import { EmulatorError } from './errors.js';
import { Faults, type FaultConfig, type OneShotFault } from './faults.js';
import { IdSequence, gid, idOf } from './ids.js';
import {
  cancelOrder as cancelOrderOp,
  editOrder as editOrderOp,
  fulfillOrder as fulfillOrderOp,
  fulfillmentStatus,
  levelToRest,
  moveFulfillmentOrder as moveOp,
  orderToRest,
  placeOrder as placeOrderOp,
  type EditInput,
  type FulfillInput,
  type FulfillmentOrderRecord,
  type InventoryDelta,
  type Order,
  type OrderLineInput,
} from './orders.js';
import type { ShopifyPlan } from './plans.js';
import { fieldResolver, typeResolver } from './resolvers.js';
import { emulatorSchema } from './schema.js';
import {
  ALL_QUANTITY_NAMES,
  QUANTITY_NAMES,
  ShopState,
  levelKey,
  quantityOf,
  type LevelRecord,
  type QuantityName,
  type ShopCounters,
  type StoredQuantityName,
} from './state.js';
import { DEFAULT_WEBHOOK_SETTINGS, WebhookDispatcher, type DeliveryRecord, type WebhookSettings } from './webhooks.js';

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

export type LevelView = Record<QuantityName, number> & { updatedAt: Record<QuantityName, string | null> };

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

/** The emulator's state and behaviour, shared by the GraphQL endpoint, the control API and in-process callers. */
export class Emulator {
  readonly shops = new Map<string, ShopState>();
  private readonly tokens = new Map<string, string>();
  private readonly ids = new IdSequence();
  readonly faults = new Faults();
  readonly webhooks: WebhookDispatcher;
  readonly defaultPlan: ShopifyPlan;
  bulkDelayMs: number;
  /** Origin the HTTP server listens on; bulk result URLs point here. */
  baseUrl = '';
  private readonly bulkTimers = new Set<NodeJS.Timeout>();

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

  createLocation(domain: string, input: { name: string; isActive?: boolean }): { id: string } {
    const shop = this.shop(domain);
    const id = this.newId();
    shop.locations.set(id, { __typename: 'Location', id, name: input.name, isActive: input.isActive ?? true });
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

  private itemId(shop: ShopState, raw: IdInput): number {
    const id = idOf(raw, 'InventoryItem');
    if (id === undefined || !shop.items.has(id)) throw new EmulatorError(404, `unknown inventory item ${raw}`);
    return id;
  }

  private locationId(shop: ShopState, raw: IdInput): number {
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

  private view(level: LevelRecord): LevelView {
    const q = Object.fromEntries(ALL_QUANTITY_NAMES.map((n) => [n, quantityOf(level, n)])) as Record<QuantityName, number>;
    return { ...q, updatedAt: { ...level.updatedAt } };
  }

  // ---------- orders ----------

  private applyOrderDeltas(shop: ShopState, deltas: InventoryDelta[], now: string): LevelRecord[] {
    shop.applyDeltas(deltas, now);
    const keys = [...new Set(deltas.map((d) => levelKey(d.itemId, d.locationId)))];
    return keys.map((k) => shop.levels.get(k)!);
  }

  private emitOrder(shop: ShopState, order: Order, topics: string[], levels: LevelRecord[]): void {
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

  private orderId(raw: IdInput): number {
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

  // ---------- bulk ----------

  startBulk = (shop: ShopState, query: string, groupObjects: boolean): ReturnType<RequestContext['startBulk']> => {
    const running = [...shop.bulkOperations.values()].filter(isRunning).length;
    if (running >= MAX_RUNNING_BULK) {
      return { op: null, userErrors: [{ code: 'LIMIT_REACHED', field: null, message: `A shop can run at most ${MAX_RUNNING_BULK} bulk queries at once.` }] };
    }
    const checked = checkBulkQuery(emulatorSchema(), query);
    if (!checked.doc) return { op: null, userErrors: [{ code: 'INVALID', field: ['query'], message: checked.error! }] };
    const op: BulkOperationRecord = {
      __typename: 'BulkOperation',
      id: this.newId(),
      status: 'CREATED',
      errorCode: null,
      createdAt: new Date().toISOString(),
      completedAt: null,
      objectCount: 0,
      rootObjectCount: 0,
      fileSize: null,
      query,
      type: 'QUERY',
      groupObjects,
      jsonl: null,
    };
    shop.bulkOperations.set(op.id, op);
    shop.counters.bulkOperations += 1;
    const doc = checked.doc;
    this.later(() => {
      if (op.status !== 'CREATED') return;
      op.status = 'RUNNING';
      this.later(() => void this.finishBulk(shop, op, doc));
    });
    return { op, userErrors: [] };
  };

  private later(fn: () => void): void {
    const t = setTimeout(() => {
      this.bulkTimers.delete(t);
      fn();
    }, this.bulkDelayMs);
    this.bulkTimers.add(t);
  }

  private async finishBulk(shop: ShopState, op: BulkOperationRecord, doc: DocumentNode): Promise<void> {
    if (op.status !== 'RUNNING') return;
    // Window by window of root nodes, yielding between windows: a million levels are never one result object,
    // and the shop keeps answering while its export runs (as Shopify's does).
    const chunks: Buffer[] = [];
    let objectCount = 0;
    let rootCount = 0;
    let failed = false;
    for (let start = 0; ; start += BULK_WINDOW) {
      const window = { start, size: BULK_WINDOW, more: false };
      const result = await this.runQuery(shop, doc, {}, true, window);
      if ((op.status as string) !== 'RUNNING') return;
      if (result.errors?.length || !result.data) {
        failed = true;
        break;
      }
      const flat = flattenToJsonl(result.data as Record<string, unknown>, start > 0);
      const lines = flat.lines.map((line, i) => (shop.bulkCorruptLines.has(objectCount + i + 1) ? line.slice(0, Math.ceil(line.length / 2)) : line));
      if (lines.length > 0) chunks.push(Buffer.from(`${lines.join('\n')}\n`));
      objectCount += lines.length;
      rootCount += flat.rootCount;
      if (!window.more) break;
      await new Promise((r) => setImmediate(r));
    }
    if (failed) {
      op.status = 'FAILED';
      op.errorCode = 'INTERNAL_SERVER_ERROR';
    } else {
      shop.bulkCorruptLines.clear();
      op.jsonl = chunks;
      op.objectCount = objectCount;
      op.rootObjectCount = rootCount;
      op.fileSize = chunks.reduce((n, c) => n + c.length, 0);
      op.status = 'COMPLETED';
    }
    op.completedAt = new Date().toISOString();
    this.webhooks.enqueue(shop, 'bulk_operations/finish', {
      admin_graphql_api_id: gid('BulkOperation', op.id),
      completed_at: op.completedAt,
      created_at: op.createdAt,
      error_code: op.errorCode?.toLowerCase() ?? null,
      status: op.status.toLowerCase(),
      type: 'query',
    });
  }

  cancelBulk = (shop: ShopState, id: number): BulkOperationRecord | undefined => {
    const op = shop.bulkOperations.get(id);
    if (op && isRunning(op)) {
      op.status = 'CANCELED';
      op.completedAt = new Date().toISOString();
    }
    return op;
  };

  bulkUrl = (shop: ShopState, op: BulkOperationRecord): string | null =>
    op.status === 'COMPLETED' && op.jsonl && op.jsonl.length > 0 ? `${this.baseUrl}/_emulator/bulk/${encodeURIComponent(shop.config.domain)}/${op.id}.jsonl` : null;

  bulkResult(domain: string, id: number): Buffer[] | undefined {
    return this.shops.get(domain)?.bulkOperations.get(id)?.jsonl ?? undefined;
  }

  /** Fault: the next bulk result of the shop has these lines (1-based) cut short, as a broken write would leave them. */
  corruptNextBulkLines(domain: string, lines: number[]): void {
    const shop = this.shop(domain);
    for (const n of lines) shop.bulkCorruptLines.add(n);
  }

  /** Executes a parsed, validated query for a shop (used by bulk runs: every page at once, no cost). */
  async runQuery(shop: ShopState, document: DocumentNode, variables: Record<string, unknown>, bulk: boolean, bulkWindow?: RequestContext['bulkWindow']) {
    return execute({
      schema: emulatorSchema(),
      document,
      variableValues: variables,
      contextValue: { ...this.context(shop, randomUUID(), bulk, new Map()), ...(bulkWindow ? { bulkWindow } : {}) },
      fieldResolver,
      typeResolver,
    });
  }

  context(shop: ShopState, requestId: string, bulk: boolean, idempotent: RequestContext['idempotent']): RequestContext {
    return {
      shop,
      requestId,
      bulk,
      now: new Date().toISOString(),
      newId: this.newId,
      idempotent,
      levelsChanged: this.levelsChanged,
      startBulk: this.startBulk,
      cancelBulk: this.cancelBulk,
      bulkUrl: this.bulkUrl,
    };
  }

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
    return { ...shop.counters, mutationsAppliedByKey: { ...shop.counters.mutationsAppliedByKey }, throttleStatus: shop.bucket.status() };
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
      locations: [...shop.locations.values()].map((l) => ({ id: gid('Location', l.id), name: l.name, isActive: l.isActive })),
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
