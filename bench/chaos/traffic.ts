/**
 * The run's traffic and its ground truth. A seeded stream of the cross-channel events (storefront orders placed
 * in the emulator, which sends the signed webhooks; marketplace orders on POST /orders; POS sales, ERP receipts
 * and WMS totals as source events; WMS allocation confirmations; cancellations), sent the way the outside world
 * sends them: retried until our server answers. Source events are also re-sent (same event id) and delayed so a
 * newer reading of the key overtakes them.
 *
 * The driver keeps what must be true at the end: every order's units per SKU, and each key's ERP on-hand, WMS
 * total and POS pending (the newest reading of each), hence the ATS Shopify must show.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom, type Random } from '../../src/domain/prng.js';
import { deliver, DeliveryStats } from './delivery.js';
import type { FaultKind } from './options.js';
import { CHANNEL, SOURCE_NAMES, type ShopPlan, type Topology } from './topology.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type TrafficKind = 'storefront_order' | 'marketplace_order' | 'pos_sale' | 'erp_receipt' | 'wms_allocation' | 'cancel';

export interface OrderTruth {
  channel: 'storefront' | 'marketplace';
  /** The order id in our database: Shopify's numeric id, or ext:{channel}:{id}. */
  dbOrderId: string;
  wireOrderId: string;
  lines: { lineId: string; sku: string; quantity: number }[];
  state: 'open' | 'allocated' | 'cancelled';
  busy: boolean;
}

export interface KeyTruth {
  erp: number;
  wms: number;
  pos: number;
}

export interface Catalogue {
  shop: ShopPlan;
  locationCode: string;
  shopifyLocationId: string;
  skus: string[];
  items: Map<string, { inventoryItemId: string; variantId: string }>;
}

export class Traffic {
  readonly orders = new Map<string, OrderTruth>();
  readonly keys = new Map<string, KeyTruth>();
  readonly counts = new Map<TrafficKind, number>();
  readonly refusedOrders = { storefront: 0 };
  readonly stats = new DeliveryStats();
  readonly sourceFaults = { resent: 0, delayed: 0 };
  /** Personal data the run put into orders: no log line or workflow history may contain any of it. */
  readonly personalData = new Set<string>();
  /** Every source event sent, by source: the audit checks each is recorded. */
  readonly sourceEventIds = new Map<string, Set<string>>();
  private readonly inflight = new Set<Promise<void>>();
  private seq = 0;
  private clock = Date.now();

  constructor(
    private readonly topo: Topology,
    readonly catalogue: Catalogue,
    private readonly rng: Random,
    private readonly faults: Set<FaultKind>,
    private readonly log: (s: string) => void,
  ) {
    for (const sku of catalogue.skus) this.keys.set(sku, { erp: 0, wms: 0, pos: 0 });
  }

  /** A strictly increasing clock for occurredAt/updatedAt: readings of one key never tie. */
  private now(): string {
    this.clock = Math.max(this.clock + 1, Date.now());
    return new Date(this.clock).toISOString();
  }

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.rng() * xs.length)]!;
  }

  private count(kind: TrafficKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  private track(p: Promise<void>): void {
    const q: Promise<void> = p
      .catch((e: unknown) => void this.stats.refused.push(`driver: ${(e as Error).message}`))
      .finally(() => this.inflight.delete(q));
    this.inflight.add(q);
  }

  /** Sends one source reading (absolute quantity), with the run's source faults: delayed past newer ones, re-sent. */
  async sourceEvent(source: string, token: string, sku: string, quantity: number, occurredAt: string): Promise<void> {
    const eventId = `${source}-${++this.seq}`;
    const ids = this.sourceEventIds.get(source) ?? new Set<string>();
    ids.add(eventId);
    this.sourceEventIds.set(source, ids);
    const body = { events: [{ shopId: this.catalogue.shop.id, sku, locationId: this.catalogue.locationCode, quantity, occurredAt, eventId }] };
    const url = `${this.topo.serverUrl}/sources/${source}/events`;
    if (this.faults.has('source-reorder') && this.rng() < 0.15) {
      // Out of order: this reading is held while newer readings of the key go out; it arrives stale.
      this.sourceFaults.delayed += 1;
      const delay = 1000 + this.rng() * 2500;
      this.track(sleep(delay).then(() => this.send(url, token, body)));
    } else {
      await this.send(url, token, body);
    }
    if (this.faults.has('source-resend') && this.rng() < 0.2) {
      this.sourceFaults.resent += 1;
      const delay = 300 + this.rng() * 4000;
      this.track(sleep(delay).then(() => this.send(url, token, body)));
    }
  }

  private async send(url: string, token: string, body: unknown): Promise<void> {
    const r = await deliver(url, token, body, this.stats);
    if (r.status < 200 || r.status >= 300) throw new Error(`refused ${url}: ${r.status}`);
  }

  /** Seeds the ERP on-hand of every key (WMS and POS at 0) and waits until Shopify shows the ATS. */
  async seedStock(): Promise<void> {
    const at = new Date(Date.now() - 60_000).toISOString();
    for (const [i, sku] of this.catalogue.skus.entries()) {
      const truth = this.keys.get(sku)!;
      truth.erp = 400 + 25 * i;
      await this.sourceEvent(SOURCE_NAMES.erp, this.topo.secrets.erpToken, sku, truth.erp, at);
      await this.sourceEvent(SOURCE_NAMES.wms, this.topo.secrets.wmsToken, sku, 0, at);
      await this.sourceEvent(SOURCE_NAMES.pos, this.topo.secrets.posToken, sku, 0, at);
    }
    await this.settle(120_000);
  }

  /** Waits for the driver's own in-flight sends (retries, delayed and re-sent events). */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 && Date.now() < deadline) await Promise.race([...this.inflight, sleep(500)]);
    if (this.inflight.size > 0) this.stats.refused.push(`driver: ${this.inflight.size} sends still in flight after ${timeoutMs} ms`);
  }

  /** Runs the traffic for `seconds` at `rate` events of orders per second (other kinds in proportion). */
  async run(seconds: number, rate: number, stillRunning: () => boolean): Promise<void> {
    const end = Date.now() + seconds * 1000;
    // Per "order" tick: the mix of the cross-channel flash sale.
    const mix: [TrafficKind, number][] = [
      ['storefront_order', 0.45],
      ['marketplace_order', 0.15],
      ['pos_sale', 0.1],
      ['erp_receipt', 0.08],
      ['wms_allocation', 0.12],
      ['cancel', 0.1],
    ];
    while (Date.now() < end && stillRunning()) {
      let x = this.rng();
      let kind: TrafficKind = 'storefront_order';
      for (const [k, w] of mix) {
        if (x < w) {
          kind = k;
          break;
        }
        x -= w;
      }
      this.track(this.fire(kind));
      // Exponential gaps (a Poisson stream), capped so a long gap does not eat the run.
      const gap = Math.min(3000, (-Math.log(1 - this.rng()) / (rate / 0.6)) * 1000);
      await sleep(gap);
      // Bounded concurrency: a stalled server must not grow an unbounded backlog in the driver.
      while (this.inflight.size > 200) await sleep(100);
    }
  }

  private lines(): { sku: string; quantity: number }[] {
    const n = this.rng() < 0.7 ? 1 : 2;
    const skus = new Set<string>();
    while (skus.size < n) skus.add(this.pick(this.catalogue.skus));
    return [...skus].map((sku) => ({ sku, quantity: 1 + Math.floor(this.rng() * 3) }));
  }

  private async fire(kind: TrafficKind): Promise<void> {
    const shop = this.catalogue.shop;
    const secrets = this.topo.secrets;
    switch (kind) {
      case 'storefront_order': {
        const lines = this.lines();
        const res = await fetch(`${this.topo.emulatorUrl}/_emulator/shops/${shop.domain}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ lines, locationId: this.catalogue.shopifyLocationId }),
        });
        if (res.status === 422) {
          this.refusedOrders.storefront += 1;
          return;
        }
        if (!res.ok) throw new Error(`emulator order: ${res.status} ${await res.text()}`);
        const order = (await res.json()) as { legacyId: number; lineItems: { id: string; sku: string; quantity: number }[]; rest: Record<string, unknown> };
        this.count(kind);
        const rest = order.rest as { email?: string; phone?: string; customer?: { first_name?: string; last_name?: string }; shipping_address?: { address1?: string } };
        for (const v of [rest.email, rest.phone, rest.shipping_address?.address1, rest.customer ? `${rest.customer.first_name} ${rest.customer.last_name}` : undefined]) {
          if (v) this.personalData.add(v);
        }
        const id = String(order.legacyId);
        this.orders.set(id, {
          channel: 'storefront',
          dbOrderId: id,
          wireOrderId: id,
          lines: order.lineItems.map((l) => ({ lineId: l.id.split('/').pop()!, sku: l.sku, quantity: l.quantity })),
          state: 'open',
          busy: false,
        });
        return;
      }
      case 'marketplace_order': {
        const n = ++this.seq;
        const wireOrderId = `mkt-${n}`;
        const lines = this.lines().map((l, i) => ({ lineId: `${wireOrderId}-l${i}`, sku: l.sku, locationId: this.catalogue.locationCode, quantity: l.quantity }));
        // What a marketplace really sends along: the buyer. The route must drop it before it reaches a log or history.
        const buyer = { email: `chaos.buyer.${n}@example.org`, name: `Quillon Marchbanks ${n}`, phone: `+44 7700 9${String(100000 + n).slice(-5)}` };
        for (const v of Object.values(buyer)) this.personalData.add(v);
        const order: OrderTruth = { channel: 'marketplace', dbOrderId: `ext:${CHANNEL}:${wireOrderId}`, wireOrderId, lines: lines.map(({ lineId, sku, quantity }) => ({ lineId, sku, quantity })), state: 'open', busy: true };
        this.orders.set(order.dbOrderId, order);
        this.count(kind);
        await this.send(`${this.topo.serverUrl}/orders`, secrets.channelToken, { shopId: shop.id, orderId: wireOrderId, status: 'open', updatedAt: this.now(), lines, customer: buyer });
        order.busy = false;
        return;
      }
      case 'pos_sale': {
        const sku = this.pick(this.catalogue.skus);
        const truth = this.keys.get(sku)!;
        truth.pos += 1 + Math.floor(this.rng() * 2);
        this.count(kind);
        await this.sourceEvent(SOURCE_NAMES.pos, secrets.posToken, sku, truth.pos, this.now());
        return;
      }
      case 'erp_receipt': {
        const sku = this.pick(this.catalogue.skus);
        const truth = this.keys.get(sku)!;
        truth.erp += 5 + Math.floor(this.rng() * 20);
        this.count(kind);
        await this.sourceEvent(SOURCE_NAMES.erp, secrets.erpToken, sku, truth.erp, this.now());
        return;
      }
      case 'wms_allocation': {
        const open = [...this.orders.values()].filter((o) => o.state === 'open' && !o.busy);
        if (open.length === 0) return;
        const order = this.pick(open);
        order.busy = true;
        this.count(kind);
        const occurredAt = this.now();
        // Confirm first, then report the total that includes it: the WMS contract (docs/reservations.md).
        await this.send(`${this.topo.serverUrl}/wms/allocations`, secrets.wmsToken, {
          shopId: shop.id,
          orderId: order.wireOrderId,
          ...(order.channel === 'marketplace' ? { channel: CHANNEL } : {}),
          allocationId: `alloc-${++this.seq}`,
          occurredAt,
          lines: order.lines.map((l) => ({ lineId: l.lineId, sku: l.sku, locationId: this.catalogue.locationCode, quantity: l.quantity })),
        });
        order.state = 'allocated';
        for (const l of order.lines) {
          const truth = this.keys.get(l.sku)!;
          truth.wms += l.quantity;
          await this.sourceEvent(SOURCE_NAMES.wms, secrets.wmsToken, l.sku, truth.wms, this.now());
        }
        order.busy = false;
        return;
      }
      case 'cancel': {
        const open = [...this.orders.values()].filter((o) => o.state === 'open' && !o.busy);
        if (open.length === 0) return;
        const order = this.pick(open);
        order.busy = true;
        this.count(kind);
        if (order.channel === 'storefront') {
          const res = await fetch(`${this.topo.emulatorUrl}/_emulator/shops/${shop.domain}/orders/${order.wireOrderId}/cancel`, { method: 'POST' });
          if (!res.ok) throw new Error(`emulator cancel: ${res.status} ${await res.text()}`);
        } else {
          await this.send(`${this.topo.serverUrl}/orders`, secrets.channelToken, { shopId: shop.id, orderId: order.wireOrderId, status: 'cancelled', updatedAt: this.now() });
        }
        order.state = 'cancelled';
        order.busy = false;
        return;
      }
    }
  }

  /** The ATS every key must end at: max(0, erp - wms - pos - open claims), safety buffer 0 in this run. */
  expectedAts(): Map<string, { ats: number; openClaims: number } & KeyTruth> {
    const claims = new Map<string, number>();
    for (const o of this.orders.values()) {
      if (o.state !== 'open') continue;
      for (const l of o.lines) claims.set(l.sku, (claims.get(l.sku) ?? 0) + l.quantity);
    }
    const out = new Map<string, { ats: number; openClaims: number } & KeyTruth>();
    for (const [sku, k] of this.keys) {
      const openClaims = claims.get(sku) ?? 0;
      out.set(sku, { ...k, openClaims, ats: Math.max(0, k.erp - k.wms - k.pos - openClaims) });
    }
    return out;
  }

  writeTruth(dir: string): void {
    writeFileSync(join(dir, 'truth.json'), JSON.stringify({ orders: [...this.orders.values()], keys: Object.fromEntries(this.keys) }, null, 1));
  }

  get inFlight(): number {
    return this.inflight.size;
  }
}

/** Creates the shop, its location and products in the emulator, and imports the mappings with the CLI. */
export async function setUpCatalogue(topo: Topology, shop: ShopPlan, skuCount: number, seed: number): Promise<Catalogue> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${topo.emulatorUrl}/_emulator${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`emulator ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, string>;
  };
  await post('/shops', { domain: shop.domain, accessToken: topo.secrets.shopAccessToken, plan: shop.plan, webhookUrl: `${topo.serverUrl}/webhooks/shopify`, webhookSecret: topo.secrets.webhookSecret });
  const location = await post(`/shops/${shop.domain}/locations`, { name: 'Warehouse 1' });
  const skus = Array.from({ length: skuCount }, (_, i) => `CHAOS-${seed % 1000}-${String(i).padStart(3, '0')}`);
  const items = new Map<string, { inventoryItemId: string; variantId: string }>();
  const csv = ['shop_id,sku,location_id,inventory_item_id,shopify_location_id,variant_id'];
  for (const sku of skus) {
    const p = await post(`/shops/${shop.domain}/products`, { sku, title: `Chaos ${sku}` });
    items.set(sku, { inventoryItemId: p.inventoryItemId!, variantId: p.variantId! });
    csv.push([shop.id, sku, 'WH1', p.inventoryItemId, location.id, p.variantId].join(','));
  }
  const file = join(topo.runDir, 'mappings.csv');
  writeFileSync(file, `${csv.join('\n')}\n`);
  await topo.cli('mappings', ['mappings', 'import', file]);
  return { shop, locationCode: 'WH1', shopifyLocationId: location.id!, skus, items };
}

export function trafficRng(seed: number): Random {
  return seededRandom(seed ^ 0x7a11);
}
