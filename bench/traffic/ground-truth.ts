/**
 * Ground truth of a flash sale, in physical units per (sku, location): what was there, what each channel sold
 * (accepted) and turned away (refused), and from that the two figures a merchant counts:
 * - oversold units: units a channel accepted that did not exist unsold at that moment (counted at the sale);
 * - lost sales: units a channel refused while unsold physical units above the configured buffer existed.
 *
 * It knows nothing of any design under test: the driver tells it what each channel did.
 */
import type { Channel, StockLine } from './trace.js';

export type KeyTruth = {
  sku: string;
  locationId: string;
  /** Initial units plus receipts. */
  supply: number;
  /** Units sold and not cancelled, all channels. */
  sold: number;
  oversold: number;
  lost: number;
};

export type ChannelTally = { acceptedOrders: number; acceptedUnits: number; refusedOrders: number; refusedUnits: number; cancelledUnits: number; oversoldUnits: number; lostUnits: number };

/** One point of the true sellable quantity of a key: max(0, unsold - buffer), at `t` ms from the start. */
export type TruthPoint = { t: number; unsold: number; sellable: number; change?: string };

/**
 * A unit oversold or a sale lost, with the key's changes in the `INCIDENT_LOOKBACK_MS` before it: which change the
 * channel that decided had not seen yet (a POS sale not yet on Shopify, a receipt not yet offered).
 */
export type Incident = { t: number; what: 'oversold' | 'lost'; channel: Channel; key: string; units: number; unsoldBefore: number; recent: string[] };
export const INCIDENT_LOOKBACK_MS = 3000;

const keyOf = (sku: string, locationId: string) => `${sku}|${locationId}`;

export class GroundTruth {
  private readonly keys = new Map<string, KeyTruth>();
  private readonly tallies = new Map<Channel, ChannelTally>();
  private readonly sales = new Map<string, { channel: Channel; sku: string; locationId: string; quantity: number; cancelled: boolean }>();
  private readonly timelines = new Map<string, TruthPoint[]>();
  readonly incidents: Incident[] = [];

  constructor(
    initialStock: StockLine[],
    readonly buffer: number,
  ) {
    for (const s of initialStock) {
      const k = this.key(s.sku, s.locationId);
      k.supply += s.units;
    }
    for (const k of this.keys.values()) this.mark(k, 0);
  }

  private key(sku: string, locationId: string): KeyTruth {
    const id = keyOf(sku, locationId);
    let k = this.keys.get(id);
    if (!k) {
      k = { sku, locationId, supply: 0, sold: 0, oversold: 0, lost: 0 };
      this.keys.set(id, k);
    }
    return k;
  }

  private tally(channel: Channel): ChannelTally {
    let c = this.tallies.get(channel);
    if (!c) {
      c = { acceptedOrders: 0, acceptedUnits: 0, refusedOrders: 0, refusedUnits: 0, cancelledUnits: 0, oversoldUnits: 0, lostUnits: 0 };
      this.tallies.set(channel, c);
    }
    return c;
  }

  private mark(k: KeyTruth, t: number, change?: string): void {
    const id = keyOf(k.sku, k.locationId);
    const points = this.timelines.get(id) ?? [];
    points.push({ t, unsold: this.unsoldOf(k), sellable: Math.max(0, this.unsoldOf(k) - this.buffer), ...(change ? { change } : {}) });
    this.timelines.set(id, points);
  }

  private incident(what: Incident['what'], channel: Channel, k: KeyTruth, units: number, unsoldBefore: number, t: number): void {
    const id = keyOf(k.sku, k.locationId);
    const recent = (this.timelines.get(id) ?? []).filter((p) => p.change && p.t >= t - INCIDENT_LOOKBACK_MS && p.t <= t).map((p) => `${p.change}@${t - p.t}ms ago`);
    this.incidents.push({ t, what, channel, key: id, units, unsoldBefore, recent });
  }

  private unsoldOf(k: KeyTruth): number {
    return k.supply - k.sold;
  }

  /** Physical units at the key not sold to anyone (negative once oversold). */
  unsold(sku: string, locationId: string): number {
    return this.unsoldOf(this.key(sku, locationId));
  }

  /** What a perfect system would offer: unsold units above the buffer. */
  trueSellable(sku: string, locationId: string): number {
    return Math.max(0, this.unsold(sku, locationId) - this.buffer);
  }

  receipt(sku: string, locationId: string, quantity: number, t: number): void {
    const k = this.key(sku, locationId);
    k.supply += quantity;
    this.mark(k, t, `receipt+${quantity}`);
  }

  /** A channel sold `quantity` units of the key; `saleId` lets a later cancellation give them back. */
  accept(channel: Channel, saleId: string, sku: string, locationId: string, quantity: number, t: number): void {
    const k = this.key(sku, locationId);
    const before = Math.max(0, this.unsoldOf(k));
    const over = Math.max(0, quantity - before);
    k.oversold += over;
    k.sold += quantity;
    const c = this.tally(channel);
    c.oversoldUnits += over;
    c.acceptedOrders++;
    c.acceptedUnits += quantity;
    this.sales.set(`${channel}:${saleId}`, { channel, sku, locationId, quantity, cancelled: false });
    if (over > 0) this.incident('oversold', channel, k, over, this.unsoldOf(k) + quantity, t);
    this.mark(k, t, `${channel}-${quantity}`);
  }

  /**
   * A channel turned away `quantity` units. `locationIds` are where the channel could have sold them (one for a
   * marketplace listing or a till; every location for a Shopify checkout, which routes): the units lost are those
   * the best of them held unsold above the buffer, up to the quantity, charged to that location.
   */
  refuse(channel: Channel, sku: string, locationIds: string[], quantity: number, t?: number): void {
    const c = this.tally(channel);
    c.refusedOrders++;
    c.refusedUnits += quantity;
    let best: KeyTruth | undefined;
    for (const loc of locationIds) {
      const k = this.key(sku, loc);
      if (!best || this.unsoldOf(k) > this.unsoldOf(best)) best = k;
    }
    const lost = best ? Math.min(quantity, Math.max(0, this.unsoldOf(best) - this.buffer)) : 0;
    if (best) best.lost += lost;
    c.lostUnits += lost;
    if (best && lost > 0 && t !== undefined) this.incident('lost', channel, best, lost, this.unsoldOf(best), t);
  }

  /** An accepted sale is cancelled: its units are unsold again. Unknown or already cancelled: false. */
  cancel(channel: Channel, saleId: string, t: number): boolean {
    const s = this.sales.get(`${channel}:${saleId}`);
    if (!s || s.cancelled) return false;
    s.cancelled = true;
    const k = this.key(s.sku, s.locationId);
    k.sold -= s.quantity;
    this.tally(channel).cancelledUnits += s.quantity;
    this.mark(k, t, `cancel(${channel})+${s.quantity}`);
    return true;
  }

  /** Where an accepted sale was taken from (undefined when it was refused). */
  saleOf(channel: Channel, saleId: string): { sku: string; locationId: string; quantity: number; cancelled: boolean } | undefined {
    return this.sales.get(`${channel}:${saleId}`);
  }

  timeline(sku: string, locationId: string): TruthPoint[] {
    return [...(this.timelines.get(keyOf(sku, locationId)) ?? [])];
  }

  perKey(): KeyTruth[] {
    return [...this.keys.values()].map((k) => ({ ...k }));
  }

  summary(): { oversoldUnits: number; lostSales: number; channels: Record<Channel, ChannelTally>; supply: number; sold: number } {
    const keys = [...this.keys.values()];
    const empty = (): ChannelTally => ({ acceptedOrders: 0, acceptedUnits: 0, refusedOrders: 0, refusedUnits: 0, cancelledUnits: 0, oversoldUnits: 0, lostUnits: 0 });
    return {
      oversoldUnits: keys.reduce((s, k) => s + k.oversold, 0),
      lostSales: keys.reduce((s, k) => s + k.lost, 0),
      supply: keys.reduce((s, k) => s + k.supply, 0),
      sold: keys.reduce((s, k) => s + k.sold, 0),
      channels: {
        storefront: { ...(this.tallies.get('storefront') ?? empty()) },
        pos: { ...(this.tallies.get('pos') ?? empty()) },
        marketplace: { ...(this.tallies.get('marketplace') ?? empty()) },
      },
    };
  }
}
