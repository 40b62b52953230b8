/**
 * Replays a trace against a running system and tells the ground truth what each channel accepted or refused.
 *
 * The world the trace plays in:
 * - **Shopify storefront**: a checkout is an order placed in the emulator (control API). The emulator routes it
 *   and refuses it (422) when no location has enough `available` for a tracked DENY item, as Shopify's checkout
 *   does: that is the storefront's accept/refuse.
 * - **POS**: a shopper brings a unit to the till. The till sells only units physically there and not already sold
 *   (units committed to online orders are set aside), so a POS sale is accepted exactly when the ground truth has
 *   the units unsold. It then reports its pending sales for the key as a source event (absolute quantity).
 * - **Marketplace**: its listing mirrors Shopify's `available` at the listed location through a connector that
 *   pushes every change of it at once (the kindest connector there is), and, as every marketplace does, the
 *   marketplace lowers its own listing by each of its sales until the next push overwrites it. It accepts an order
 *   when the listing covers it, then sends it to `POST /orders`.
 * - **WMS**: allocates an earlier accepted order's units (`POST /wms/allocations`); **ERP**: receipts raise its
 *   on-hand (source event). **Cancel**: a storefront order is cancelled in the emulator (Shopify sends the
 *   webhook), a marketplace order is re-posted with status `cancelled`.
 *
 * The sources' state (ERP on-hand, WMS allocated, POS pending per key) is kept in a `SourceBook` that designs
 * which poll the sources (the baselines in bench/oversell) read; `hooks` tell such designs what happened.
 */
import { GroundTruth } from './ground-truth.js';
import type { OrderChannel, Trace, TraceEvent } from './trace.js';

export type SourceRole = 'erp' | 'wms' | 'pos';
export type SourceChange = { role: SourceRole; sku: string; locationId: string; quantity: number; occurredAt: string; eventId: string };

/** What the merchant's source systems hold now, per (sku, location). */
export class SourceBook {
  readonly erpOnHand = new Map<string, number>();
  readonly wmsAllocated = new Map<string, number>();
  readonly posPending = new Map<string, number>();

  static fromTrace(trace: Pick<Trace, 'initialStock'>): SourceBook {
    const b = new SourceBook();
    for (const s of trace.initialStock) b.erpOnHand.set(`${s.sku}|${s.locationId}`, (b.erpOnHand.get(`${s.sku}|${s.locationId}`) ?? 0) + s.units);
    return b;
  }

  mapOf(role: SourceRole): Map<string, number> {
    return role === 'erp' ? this.erpOnHand : role === 'wms' ? this.wmsAllocated : this.posPending;
  }

  get(role: SourceRole, sku: string, locationId: string): number {
    return this.mapOf(role).get(`${sku}|${locationId}`) ?? 0;
  }

  /** Adds `delta` and returns the new absolute quantity. */
  add(role: SourceRole, sku: string, locationId: string, delta: number): number {
    const m = this.mapOf(role);
    const v = (m.get(`${sku}|${locationId}`) ?? 0) + delta;
    m.set(`${sku}|${locationId}`, v);
    return v;
  }
}

export type EmulatorTarget = {
  /** Emulator base URL (control API under /_emulator). */
  url: string;
  domain: string;
  /** Location code (as the trace and the sources name it) -> Shopify Location gid. */
  locations: Record<string, string>;
  /** Shopify's `available` for a key now; by default read from the emulator's state endpoint. */
  available?: (sku: string, locationId: string) => Promise<number>;
};

/** Our HTTP server: the tokens of the configured sources and marketplace channel. */
export type ServerTarget = {
  url: string;
  shopId: string;
  sources: { erp: string; wms: string; pos: string };
  tokens: { erp: string; wms: string; pos: string; marketplace: string };
  /** The channel name configured for the marketplace (its token is tokens.marketplace). */
  channel: string;
  /**
   * Sends one request instead of `fetch` (bench/chaos: retries through server kills, re-sends and delays source
   * events, adds the buyer a marketplace really sends); answers the final status and body text.
   */
  send?: (path: string, token: string, body: unknown) => Promise<{ status: number; text: string }>;
};

export type AcceptedOrder = { channel: OrderChannel; orderId: string; sku: string; locationId: string; quantity: number; shopifyOrderId?: string; shopifyLineId?: string };

/** What a design that is not our server (a baseline) is told; every hook is optional and may be async. */
export type DesignHooks = {
  sourceChanged?: (change: SourceChange) => unknown;
  /** An order a channel accepted (storefront: after Shopify took it). */
  orderAccepted?: (order: AcceptedOrder) => unknown;
  orderCancelled?: (order: AcceptedOrder) => unknown;
  allocated?: (order: AcceptedOrder, allocationId: string) => unknown;
};

export type DriveTargets = { emulator: EmulatorTarget; server?: ServerTarget; hooks?: DesignHooks };

export type DriveOptions = {
  /** Wall-clock ms per trace ms: 1 replays in real time, 0.5 twice as fast. Default 1. */
  timeScale?: number;
  /** The sources' state to update (shared with a polling design); by default a fresh one from the trace. */
  sources?: SourceBook;
  truth?: GroundTruth;
  /** Attempts per HTTP call to our server on 429/5xx/network errors (the channel retries). Default 5. */
  attempts?: number;
  /** Called after each event is applied (for samplers that want to line up with the trace). */
  onEvent?: (event: TraceEvent, wallMs: number) => void;
};

export type DriveError = { event: TraceEvent; target: string; status: number | string; body: string };

export type DriveResult = {
  truth: GroundTruth;
  sources: SourceBook;
  errors: DriveError[];
  /** Orders accepted, by `${channel}:${orderId}`. */
  orders: Map<string, AcceptedOrder>;
  /** Wall ms the replay took (the last event was sent, not necessarily processed). */
  wallMs: number;
  /** How far behind schedule the sender ran at worst (ms): a large figure means this machine could not keep up. */
  maxLagMs: number;
  /** Wall clock (epoch ms) at trace time 0: lines up the system's own records (audit rows) with the trace. */
  startedAt: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A strictly increasing ISO clock: two events for one key in the same millisecond still order. */
function isoClock(): () => string {
  let last = 0;
  return () => {
    last = Math.max(Date.now(), last + 1);
    return new Date(last).toISOString();
  };
}

async function defaultAvailable(target: EmulatorTarget, sku: string, locationId: string): Promise<number> {
  const res = await fetch(`${target.url}/_emulator/shops/${target.domain}/state`);
  if (!res.ok) throw new Error(`emulator state: ${res.status} ${await res.text()}`);
  const state = (await res.json()) as { items: { sku: string | null; levels: { locationId: string; available: number }[] }[] };
  const level = state.items.find((i) => i.sku === sku)?.levels.find((l) => l.locationId === target.locations[locationId]);
  return level?.available ?? 0;
}

/**
 * Replays `trace` against `targets`. Events start at their scheduled times and run concurrently (a slow answer
 * never delays the next event); an allocation or a cancellation waits for its order's answer first.
 */
export async function driveTrace(trace: Trace, targets: DriveTargets, options: DriveOptions = {}): Promise<DriveResult> {
  const timeScale = options.timeScale ?? 1;
  const attempts = options.attempts ?? 5;
  const truth = options.truth ?? new GroundTruth(trace.initialStock, trace.buffer);
  const sources = options.sources ?? SourceBook.fromTrace(trace);
  const errors: DriveError[] = [];
  const orders = new Map<string, AcceptedOrder>();
  const placed = new Map<string, Promise<AcceptedOrder | undefined>>();
  /** Per key: Shopify's `available` as last pushed to the marketplace, and the units it sold since that push. */
  const listings = new Map<string, { pushed: number; soldSince: number }>();
  const allocatedOrders = new Set<string>();
  const cancelledOrders = new Set<string>();
  const { emulator, server, hooks } = targets;
  const available = emulator.available ?? ((sku: string, loc: string) => defaultAvailable(emulator, sku, loc));
  const locationCode = new Map(Object.entries(emulator.locations).map(([code, gid]) => [gid, code]));
  const now = isoClock();
  const start = performance.now();
  const startedAt = Date.now();
  let maxLagMs = 0;

  const control = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${emulator.url}/_emulator/shops/${emulator.domain}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  const viaFetch = async (path: string, token: string, body: unknown): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };

  /** POST to our server, retried on 429/5xx/network errors as a channel would; other answers are final. */
  const post = async (event: TraceEvent, path: string, token: string, body: unknown): Promise<boolean> => {
    let last: { status: number | string; body: string } = { status: 'unsent', body: '' };
    for (let i = 0; i < attempts; i++) {
      try {
        const res = await (server!.send ?? viaFetch)(path, token, body);
        const text = res.text;
        if (res.status === 202 || res.status === 200) return true;
        last = { status: res.status, body: text.slice(0, 300) };
        if (res.status !== 429 && res.status < 500) break;
      } catch (err) {
        last = { status: 'network', body: (err as Error).message };
      }
      await sleep(100 * 2 ** i);
    }
    errors.push({ event, target: path, ...last });
    return false;
  };

  const sourceChange = async (event: TraceEvent, role: SourceRole, sku: string, locationId: string, delta: number, eventId: string) => {
    const quantity = sources.add(role, sku, locationId, delta);
    const change: SourceChange = { role, sku, locationId, quantity, occurredAt: now(), eventId };
    await hooks?.sourceChanged?.(change);
    if (server) {
      await post(event, `/sources/${server.sources[role]}/events`, server.tokens[role], {
        events: [{ shopId: server.shopId, sku, locationId, quantity, occurredAt: change.occurredAt, eventId }],
      });
    }
  };

  const marketplacePost = (event: TraceEvent, o: AcceptedOrder, status: 'open' | 'cancelled') =>
    post(event, '/orders', server!.tokens.marketplace, {
      shopId: server!.shopId,
      orderId: o.orderId,
      status,
      updatedAt: now(),
      lines: [{ lineId: '1', sku: o.sku, locationId: o.locationId, quantity: o.quantity }],
    });

  const apply = async (e: TraceEvent): Promise<void> => {
    const t = e.t;
    switch (e.kind) {
      case 'storefront_order': {
        const p = (async () => {
          const res = await control('/orders', { lines: [{ sku: e.sku, quantity: e.quantity }] });
          if (res.status === 422) {
            truth.refuse('storefront', e.sku, trace.locations, e.quantity, t);
            return undefined;
          }
          if (res.status !== 201) {
            errors.push({ event: e, target: 'emulator /orders', status: res.status, body: JSON.stringify(res.json).slice(0, 300) });
            return undefined;
          }
          const view = res.json as { id: string; lineItems: { id: string }[]; fulfillmentOrders: { locationId: string }[] };
          const locationId = locationCode.get(view.fulfillmentOrders[0]!.locationId) ?? view.fulfillmentOrders[0]!.locationId;
          const o: AcceptedOrder = {
            channel: 'storefront',
            orderId: e.orderId,
            sku: e.sku,
            locationId,
            quantity: e.quantity,
            shopifyOrderId: view.id.replace(/^gid:\/\/shopify\/Order\//, ''),
            shopifyLineId: view.lineItems[0]!.id.replace(/^gid:\/\/shopify\/LineItem\//, ''),
          };
          truth.accept('storefront', e.orderId, e.sku, locationId, e.quantity, t);
          orders.set(`storefront:${e.orderId}`, o);
          await hooks?.orderAccepted?.(o);
          return o;
        })();
        placed.set(`storefront:${e.orderId}`, p);
        await p;
        return;
      }
      case 'marketplace_order': {
        const p = (async () => {
          const now = await available(e.sku, e.locationId);
          const key = `${e.sku}|${e.locationId}`;
          let listing = listings.get(key);
          // Shopify's value changed since the last push: the connector pushes it, overwriting the listing.
          if (!listing || listing.pushed !== now) listing = { pushed: now, soldSince: 0 };
          listings.set(key, listing);
          const listed = listing.pushed - listing.soldSince;
          if (listed < e.quantity) {
            truth.refuse('marketplace', e.sku, [e.locationId], e.quantity, t);
            return undefined;
          }
          listing.soldSince += e.quantity;
          const o: AcceptedOrder = { channel: 'marketplace', orderId: e.orderId, sku: e.sku, locationId: e.locationId, quantity: e.quantity };
          truth.accept('marketplace', e.orderId, e.sku, e.locationId, e.quantity, t);
          orders.set(`marketplace:${e.orderId}`, o);
          await hooks?.orderAccepted?.(o);
          if (server) await marketplacePost(e, o, 'open');
          return o;
        })();
        placed.set(`marketplace:${e.orderId}`, p);
        await p;
        return;
      }
      case 'pos_sale': {
        if (truth.unsold(e.sku, e.locationId) < e.quantity) {
          truth.refuse('pos', e.sku, [e.locationId], e.quantity, t);
          return;
        }
        truth.accept('pos', e.saleId, e.sku, e.locationId, e.quantity, t);
        await sourceChange(e, 'pos', e.sku, e.locationId, e.quantity, e.saleId);
        return;
      }
      case 'erp_receipt': {
        truth.receipt(e.sku, e.locationId, e.quantity, t);
        await sourceChange(e, 'erp', e.sku, e.locationId, e.quantity, e.receiptId);
        return;
      }
      case 'wms_allocation': {
        const key = `${e.channel}:${e.orderId}`;
        const o = await placed.get(key);
        if (!o || cancelledOrders.has(key) || allocatedOrders.has(key)) return;
        allocatedOrders.add(key);
        sources.add('wms', o.sku, o.locationId, o.quantity);
        await hooks?.allocated?.(o, e.allocationId);
        if (server) {
          await post(e, '/wms/allocations', server.tokens.wms, {
            shopId: server.shopId,
            orderId: o.channel === 'storefront' ? o.shopifyOrderId : o.orderId,
            ...(o.channel === 'marketplace' ? { channel: server.channel } : {}),
            allocationId: e.allocationId,
            occurredAt: now(),
            lines: [{ lineId: o.channel === 'storefront' ? o.shopifyLineId : '1', sku: o.sku, locationId: o.locationId, quantity: o.quantity }],
          });
        }
        return;
      }
      case 'cancel': {
        const key = `${e.channel}:${e.orderId}`;
        const o = await placed.get(key);
        if (!o || cancelledOrders.has(key) || allocatedOrders.has(key)) return;
        cancelledOrders.add(key);
        truth.cancel(e.channel, e.orderId, t);
        await hooks?.orderCancelled?.(o);
        if (o.channel === 'storefront') {
          const res = await control(`/orders/${o.shopifyOrderId}/cancel`, {});
          if (res.status !== 200) errors.push({ event: e, target: 'emulator cancel', status: res.status, body: JSON.stringify(res.json).slice(0, 300) });
        } else if (server) {
          await marketplacePost(e, o, 'cancelled');
        }
        return;
      }
    }
  };

  const running: Promise<void>[] = [];
  for (const e of trace.events) {
    const wait = e.t * timeScale - (performance.now() - start);
    if (wait > 0) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - start - e.t * timeScale);
    running.push(
      apply(e).then(
        () => options.onEvent?.(e, performance.now() - start),
        (err: unknown) => void errors.push({ event: e, target: 'driver', status: 'exception', body: (err as Error).message }),
      ),
    );
  }
  await Promise.all(running);
  return { truth, sources, errors, orders, wallMs: performance.now() - start, maxLagMs, startedAt };
}
