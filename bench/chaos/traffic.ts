/**
 * The run's traffic: the shared flash-sale trace (bench/traffic, issue 12) of storefront orders, POS sales,
 * marketplace orders, WMS allocations, ERP receipts and cancellations, replayed by its driver against the
 * emulator and our HTTP server. This file is the chaos harness's transport under that driver, the way the outside
 * world really sends:
 * - every request is retried until our server answers (it is being SIGKILLed, its PostgreSQL restarted);
 * - source events are re-sent (same event id) and held back so a newer reading of the key overtakes them;
 * - a marketplace order carries its buyer (email, name, phone), which must reach no log and no history;
 * - after the WMS confirms an allocation, it reports its allocated total for the key (confirm first, then the
 *   total: the contract in docs/reservations.md), so the claim-to-allocation conversion runs under the faults.
 *
 * It also keeps what must be true at the end: each accepted order's state, and each key's newest ERP on-hand,
 * WMS total and POS pending, hence the ATS Shopify must show.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom, type Random } from '../../src/domain/prng.js';
import { driveTrace, SourceBook, type AcceptedOrder, type DriveResult } from '../traffic/drive.js';
import { seedShop, type SeededShop } from '../traffic/shop.js';
import { generateTrace, type Trace } from '../traffic/trace.js';
import { deliver, DeliveryStats } from './delivery.js';
import type { FaultKind } from './options.js';
import { CHANNEL, SOURCE_NAMES, type ShopPlan, type Topology } from './topology.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface OrderTruth {
  channel: 'storefront' | 'marketplace';
  /** The order id in our database: Shopify's numeric id, or ext:{channel}:{id}. */
  dbOrderId: string;
  sku: string;
  locationId: string;
  quantity: number;
  /** What the channel and the WMS believe (their books). */
  state: 'open' | 'allocated' | 'cancelled';
  /**
   * Requests about this order the sender gave up on after its whole retry budget ("refused for good"): the order
   * itself (it never reached the system, unless the audit finds the system holds it: a timed-out attempt may have
   * been taken), its cancellation, or the WMS's confirmation of its allocation.
   */
  refused?: { order?: boolean; cancel?: boolean; allocation?: boolean };
  /** Set by `resolveRefusedOrders`: a refused order the system holds all the same. */
  takenAfterAll?: boolean;
  /** The WMS's allocated total for the key that includes this order's units (once its confirmation was taken). */
  wmsTotalAfter?: number;
}

/**
 * The order's state as the system was told it, from which its units must be counted: `absent` (the order never
 * reached the system), `open` (held by its claim: also an allocation whose WMS total the system has not received,
 * a cancellation or an allocation refused for good), `allocated` (held by the WMS total) or `cancelled`.
 */
export type EffectiveState = 'absent' | 'open' | 'allocated' | 'cancelled';

export interface KeyTruth {
  sku: string;
  locationId: string;
  erp: number;
  wms: number;
  pos: number;
}

type SourceRole = 'erp' | 'wms' | 'pos';
const keyOf = (sku: string, locationId: string) => `${sku}|${locationId}`;

/** A trace sized for the profile: about `rate` orders and sales a second for `seconds`, over `skus` SKUs and two locations. */
export function chaosTrace(seed: number, seconds: number, rate: number, skus: number): Trace {
  const locations = ['WH1', 'STORE1'];
  const demandRatio = 1.25;
  // Demanded units ~ 1.1 per order; supply = demand / ratio, spread over the keys.
  const perKey = Math.max(4, Math.round((rate * seconds * 1.1) / demandRatio / (skus * locations.length)));
  return generateTrace({
    seed,
    skus,
    locations,
    posLocationCount: 1,
    stockPerKey: { min: Math.max(2, Math.round(perKey * 0.6)), max: Math.round(perKey * 1.4) },
    demandRatio,
    durationMs: seconds * 1000,
    receipts: { count: Math.max(3, Math.round(seconds / 5)), units: { min: 2, max: 8 } },
    cancels: { share: 0.12, delayMs: { min: 300, max: 5000 } },
    allocation: { share: 0.35, delayMs: { min: 500, max: 6000 } },
  });
}

export class ChaosTraffic {
  readonly orders = new Map<string, OrderTruth>();
  /** The orders by their id in our database. */
  private readonly byDbId = new Map<string, OrderTruth>();
  /** The newest reading per source and key the server took (what must be in effect at the end). */
  readonly readings = new Map<string, { quantity: number; occurredAt: string }>();
  /** The newest reading per source and key the sources sent (their books; the held ones included). */
  readonly sentReadings = new Map<string, { quantity: number; occurredAt: string }>();
  /** Refused for good, by kind of request (each also in stats.gaveUp). */
  readonly gaveUp = { orders: 0, cancels: 0, allocations: 0, sourceEvents: 0 };
  readonly stats = new DeliveryStats();
  readonly sourceFaults = { resent: 0, delayed: 0, overtaken: 0 };
  /** Personal data the run put into orders: no log line or workflow history may contain any of it. */
  readonly personalData = new Set<string>();
  /** Every source event the server took (or said it recorded), by source name: the audit checks each is recorded. */
  readonly sourceEventIds = new Map<string, Set<string>>();
  private readonly wmsTotals = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private clock = 0;
  private seq = 0;
  drive: DriveResult | undefined;
  book: SourceBook;

  constructor(
    private readonly topo: Topology,
    readonly shop: ShopPlan,
    readonly seeded: SeededShop,
    readonly trace: Trace,
    private readonly rng: Random,
    private readonly faults: Set<FaultKind>,
  ) {
    this.book = SourceBook.fromTrace(trace);
  }

  get keys(): { sku: string; locationId: string }[] {
    return this.trace.skus.flatMap((sku) => this.trace.locations.map((locationId) => ({ sku, locationId })));
  }

  private now(): string {
    this.clock = Math.max(this.clock + 1, Date.now());
    return new Date(this.clock).toISOString();
  }

  private track(p: Promise<void>): void {
    const q: Promise<void> = p.catch((e: unknown) => void this.stats.refused.push(`driver: ${(e as Error).message}`)).finally(() => void this.inflight.delete(q));
    this.inflight.add(q);
  }

  private sourceNameOf(path: string): string | undefined {
    return /^\/sources\/([^/]+)\/events$/.exec(path)?.[1];
  }

  /** The driver's transport (ServerTarget.send). */
  readonly send = async (path: string, token: string, body: unknown): Promise<{ status: number; text: string }> => {
    const url = `${this.topo.serverUrl}${path}`;
    const source = this.sourceNameOf(path);
    if (source) return this.sendSourceEvents(source, token, body as { events: { sku: string; locationId: string; quantity: number; occurredAt: string; eventId: string }[] });
    if (path === '/orders') {
      const order = body as { orderId: string; status: string };
      if (order.status === 'open') {
        const n = ++this.seq;
        const buyer = { email: `chaos.buyer.${n}@example.org`, name: `Quillon Marchbanks ${n}`, phone: `+44 7700 9${String(100000 + n).slice(-5)}` };
        for (const v of Object.values(buyer)) this.personalData.add(v);
        body = { ...order, customer: buyer };
      }
    }
    const r = await deliver(url, token, body, this.stats);
    const taken = r.outcome === 'delivered' || r.recorded;
    if (r.outcome === 'gave-up' && !taken) this.refusedForGood(path, body);
    if (path === '/wms/allocations' && taken) {
      // The WMS reports its allocated total only after the confirmation was taken.
      const alloc = body as { orderId: string; channel?: string; allocationId: string; lines: { sku: string; locationId: string; quantity: number }[] };
      const truth = this.byDbId.get(alloc.channel ? `ext:${alloc.channel}:${alloc.orderId}` : alloc.orderId);
      for (const [i, l] of alloc.lines.entries()) {
        const k = keyOf(l.sku, l.locationId);
        const total = (this.wmsTotals.get(k) ?? 0) + l.quantity;
        this.wmsTotals.set(k, total);
        if (truth) truth.wmsTotalAfter = total;
        const events = [{ shopId: this.shop.id, sku: l.sku, locationId: l.locationId, quantity: total, occurredAt: this.now(), eventId: `wms-total-${alloc.allocationId}-${i}` }];
        const sent = await this.sendSourceEvents(SOURCE_NAMES.wms, this.topo.secrets.wmsToken, { events });
        if (sent.status >= 300) return sent;
      }
    }
    return { status: r.status, text: JSON.stringify(r.body) };
  };

  /**
   * A request the sender gave up on after its whole retry budget leaves its books, as it leaves a real channel's
   * or WMS's: the ground truth then holds what the system was told, and the audit measures only what it lost.
   */
  private refusedForGood(path: string, body: unknown): void {
    if (path === '/orders') {
      const o = body as { orderId: string; status: string };
      const truth = this.byDbId.get(`ext:${CHANNEL}:${o.orderId}`);
      if (!truth) return;
      truth.refused ??= {};
      if (o.status === 'open') {
        truth.refused.order = true;
        this.gaveUp.orders += 1;
      } else {
        truth.refused.cancel = true;
        this.gaveUp.cancels += 1;
      }
    } else if (path === '/wms/allocations') {
      const a = body as { orderId: string; channel?: string; lines: { sku: string; locationId: string; quantity: number }[] };
      const truth = this.byDbId.get(a.channel ? `ext:${a.channel}:${a.orderId}` : a.orderId);
      if (truth) (truth.refused ??= {}).allocation = true;
      // The WMS did not get its confirmation through: it does not count the units as allocated.
      for (const l of a.lines) this.book.add('wms', l.sku, l.locationId, -l.quantity);
      this.gaveUp.allocations += 1;
    }
  }

  effectiveState(o: OrderTruth): EffectiveState {
    if (o.refused?.order && !o.takenAfterAll) return 'absent';
    if (o.state === 'cancelled') return o.refused?.cancel ? 'open' : 'cancelled';
    if (o.state === 'allocated') {
      if (o.refused?.allocation || o.wmsTotalAfter === undefined) return 'open';
      // Converted from claim to allocation once the system has a WMS total that includes it.
      const wms = this.readings.get(`${SOURCE_NAMES.wms}|${keyOf(o.sku, o.locationId)}`)?.quantity ?? 0;
      return wms >= o.wmsTotalAfter ? 'allocated' : 'open';
    }
    return 'open';
  }

  /** Refused orders the system holds all the same (an attempt that timed out on our side may have been taken). */
  resolveRefusedOrders(heldBySystem: Set<string>): number {
    let n = 0;
    for (const o of this.orders.values()) {
      if (o.refused?.order && heldBySystem.has(o.dbOrderId)) {
        o.takenAfterAll = true;
        n += 1;
      }
    }
    return n;
  }

  get refusedOrderIds(): string[] {
    return [...this.orders.values()].filter((o) => o.refused?.order).map((o) => o.dbOrderId);
  }

  /** One source request, with the run's source faults: held back past newer readings, re-sent with the same ids. */
  private async sendSourceEvents(source: string, token: string, body: { events: { sku: string; locationId: string; quantity: number; occurredAt: string; eventId: string }[] }): Promise<{ status: number; text: string }> {
    const ids = this.sourceEventIds.get(source) ?? new Set<string>();
    const newest = (map: Map<string, { quantity: number; occurredAt: string }>) => {
      for (const e of body.events) {
        const k = `${source}|${keyOf(e.sku, e.locationId)}`;
        const prev = map.get(k);
        if (!prev || prev.occurredAt < e.occurredAt) map.set(k, { quantity: e.quantity, occurredAt: e.occurredAt });
      }
    };
    newest(this.sentReadings);
    this.sourceEventIds.set(source, ids);
    const url = `${this.topo.serverUrl}/sources/${source}/events`;
    const go = async () => {
      const r = await deliver(url, token, body, this.stats);
      // Taken (or recorded, though the refresh hand-off failed): in effect at the end. Refused for good: the source
      // gave up; a later reading of the key (absolute quantities) supersedes it.
      if (r.outcome === 'delivered' || r.recorded) {
        newest(this.readings);
        for (const e of body.events) ids.add(e.eventId);
      } else if (r.outcome === 'gave-up') this.gaveUp.sourceEvents += 1;
      return { status: r.status, text: JSON.stringify(r.body), outcome: r.outcome };
    };
    if (this.faults.has('source-resend') && this.rng() < 0.2) {
      this.sourceFaults.resent += 1;
      const delay = 300 + this.rng() * 4000;
      this.track(sleep(delay).then(async () => void (await go())));
    }
    if (this.faults.has('source-reorder') && this.rng() < 0.15) {
      // Out of order: this reading waits while newer readings of the key go out; it arrives stale. Answered at once
      // (the source believes it sent it), delivered later.
      this.sourceFaults.delayed += 1;
      const delay = 1000 + this.rng() * 2500;
      this.track(
        sleep(delay).then(async () => {
          const overtaken = body.events.some((e) => this.sentReadings.get(`${source}|${keyOf(e.sku, e.locationId)}`)!.occurredAt > e.occurredAt);
          if (overtaken) this.sourceFaults.overtaken += 1;
          // A 4xx is in stats.refused (a violation), refused for good in stats.gaveUp: nothing more to do here.
          await go();
        }),
      );
      return { status: 202, text: '{"status":"held by the chaos harness"}' };
    }
    return go();
  }

  /** Reports the trace's initial stock as the ERP's on-hand (WMS and POS at 0), before the sale. */
  async seedReadings(): Promise<void> {
    const at = new Date(Date.now() - 60_000).toISOString();
    const bySource: Record<SourceRole, { shopId: string; sku: string; locationId: string; quantity: number; occurredAt: string; eventId: string }[]> = { erp: [], wms: [], pos: [] };
    for (const { sku, locationId } of this.keys) {
      for (const role of ['erp', 'wms', 'pos'] as const) {
        bySource[role].push({ shopId: this.shop.id, sku, locationId, quantity: this.book.get(role, sku, locationId), occurredAt: at, eventId: `seed-${role}-${sku}-${locationId}` });
      }
    }
    const tokens = { erp: this.topo.secrets.erpToken, wms: this.topo.secrets.wmsToken, pos: this.topo.secrets.posToken };
    for (const role of ['erp', 'wms', 'pos'] as const) {
      const r = await this.sendSourceEvents(SOURCE_NAMES[role], tokens[role], { events: bySource[role] });
      if (r.status >= 300) throw new Error(`seeding ${role} readings: ${r.status} ${r.text}`);
    }
  }

  /** Replays the trace (real time) with the driver, this transport under it. */
  async run(): Promise<void> {
    const track = (state: OrderTruth['state']) => (o: AcceptedOrder) => {
      const key = `${o.channel}:${o.orderId}`;
      const known = this.orders.get(key);
      if (known) known.state = state;
      else {
        const truth: OrderTruth = {
          channel: o.channel,
          dbOrderId: o.channel === 'storefront' ? o.shopifyOrderId! : `ext:${CHANNEL}:${o.orderId}`,
          sku: o.sku,
          locationId: o.locationId,
          quantity: o.quantity,
          state,
        };
        this.orders.set(key, truth);
        this.byDbId.set(truth.dbOrderId, truth);
      }
    };
    this.drive = await driveTrace(
      this.trace,
      {
        emulator: { url: this.topo.emulatorUrl, domain: this.shop.domain, locations: this.seeded.locations },
        server: {
          url: this.topo.serverUrl,
          shopId: this.shop.id,
          sources: SOURCE_NAMES,
          tokens: { erp: this.topo.secrets.erpToken, wms: this.topo.secrets.wmsToken, pos: this.topo.secrets.posToken, marketplace: this.topo.secrets.channelToken },
          channel: CHANNEL,
          send: this.send,
        },
        hooks: {
          orderAccepted: track('open'),
          orderCancelled: track('cancelled'),
          allocated: track('allocated'),
          // Storefront orders: the emulator made up the buyer; read it back so the scan looks for it.
        },
      },
      { timeScale: 1, sources: this.book, attempts: 1 },
    );
    // Requests to our server were classified by this transport already (stats.refused, stats.gaveUp).
    for (const e of this.drive.errors) if (!e.target.startsWith('/')) this.stats.refused.push(`driver ${e.target}: ${e.status} ${e.body}`);
    await this.collectStorefrontPersonalData();
  }

  /** The fake buyers the emulator put in its order webhooks (email, phone, name, street). */
  private async collectStorefrontPersonalData(): Promise<void> {
    const storefront = [...this.orders.values()].filter((o) => o.channel === 'storefront');
    for (let i = 0; i < storefront.length; i += 16) {
      await Promise.all(
        storefront.slice(i, i + 16).map(async (o) => {
          const res = await fetch(`${this.topo.emulatorUrl}/_emulator/shops/${this.shop.domain}/orders/${o.dbOrderId}`);
          const rest = ((await res.json()) as { rest: { email?: string; phone?: string; customer?: { first_name?: string; last_name?: string }; shipping_address?: { address1?: string } } }).rest;
          for (const v of [rest.email, rest.phone, rest.shipping_address?.address1, rest.customer ? `${rest.customer.first_name} ${rest.customer.last_name}` : undefined]) {
            if (v) this.personalData.add(v);
          }
        }),
      );
    }
  }

  /** Waits for the transport's own in-flight sends (held and re-sent events). */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 && Date.now() < deadline) await Promise.race([...this.inflight, sleep(500)]);
    if (this.inflight.size > 0) this.stats.refused.push(`driver: ${this.inflight.size} sends still in flight after ${timeoutMs} ms`);
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** Per key: the newest reading of each source, the open (unallocated) claims, and the ATS Shopify must show. */
  expected(): Map<string, KeyTruth & { openClaims: number; ats: number }> {
    const claims = new Map<string, number>();
    for (const o of this.orders.values()) {
      if (this.effectiveState(o) === 'open') claims.set(keyOf(o.sku, o.locationId), (claims.get(keyOf(o.sku, o.locationId)) ?? 0) + o.quantity);
    }
    const reading = (role: SourceRole, sku: string, locationId: string) => this.readings.get(`${SOURCE_NAMES[role]}|${keyOf(sku, locationId)}`)?.quantity ?? 0;
    const out = new Map<string, KeyTruth & { openClaims: number; ats: number }>();
    for (const { sku, locationId } of this.keys) {
      const k = { sku, locationId, erp: reading('erp', sku, locationId), wms: reading('wms', sku, locationId), pos: reading('pos', sku, locationId) };
      const openClaims = claims.get(keyOf(sku, locationId)) ?? 0;
      out.set(keyOf(sku, locationId), { ...k, openClaims, ats: Math.max(0, k.erp - k.wms - k.pos - openClaims - this.trace.buffer) });
    }
    return out;
  }

  /** The sources' own books must agree with what was reported (the driver's SourceBook vs our readings). */
  bookMismatches(): string[] {
    const out: string[] = [];
    for (const { sku, locationId } of this.keys) {
      for (const role of ['erp', 'wms', 'pos'] as const) {
        const sent = this.sentReadings.get(`${SOURCE_NAMES[role]}|${keyOf(sku, locationId)}`)?.quantity ?? 0;
        const book = this.book.get(role, sku, locationId);
        if (sent !== book) out.push(`${role} ${sku}@${locationId}: book ${book}, reported ${sent}`);
      }
    }
    return out;
  }

  writeTruth(dir: string): void {
    const orders = [...this.orders.values()].map((o) => ({ ...o, effective: this.effectiveState(o) }));
    writeFileSync(join(dir, 'truth.json'), JSON.stringify({ orders, gaveUp: this.gaveUp, refusedForGood: this.stats.gaveUp, expected: Object.fromEntries(this.expected()) }, null, 1));
  }
}

/** Creates the shop, its locations and products in the emulator (bench/traffic/shop.ts) and imports the mappings with the CLI. */
export async function setUpShop(topo: Topology, shop: ShopPlan, trace: Trace): Promise<SeededShop> {
  const seeded = await seedShop(topo.emulatorUrl, shop.domain, trace, {
    accessToken: topo.secrets.shopAccessToken,
    plan: shop.plan,
    webhookUrl: `${topo.serverUrl}/webhooks/shopify`,
    webhookSecret: topo.secrets.webhookSecret,
  });
  const csv = ['shop_id,sku,location_id,inventory_item_id,shopify_location_id,variant_id'];
  for (const sku of trace.skus) {
    for (const loc of trace.locations) csv.push([shop.id, sku, loc, seeded.items[sku]!.inventoryItemId, seeded.locations[loc], seeded.items[sku]!.variantId].join(','));
  }
  const file = join(topo.runDir, 'mappings.csv');
  writeFileSync(file, `${csv.join('\n')}\n`);
  await topo.cli('mappings', ['mappings', 'import', file]);
  return seeded;
}

export function trafficRng(seed: number): Random {
  return seededRandom(seed ^ 0x7a11);
}
