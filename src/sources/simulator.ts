import type { Db } from '../db/pool.js';
import { seededRandom } from '../domain/prng.js';
import { recordSourceChanges, type IncomingChange } from '../db/source-changes.js';
import type { SourceRole } from './adapter.js';
import { type SkuLocation, skuLocationKey } from '../domain/sku-location.js';

export interface SimulatedShop {
  shopId: string;
  skus: string[];
  locations: string[];
}

export interface SimulatorOptions {
  db: Db;
  seed: number;
  shops: SimulatedShop[];
  /** Source names per role; each must be configured as a `simulator` (or `postgres`) source. */
  sources: Record<SourceRole, string>;
  /** Event times start here and only move forward (default: now). */
  startAt?: Date;
}

interface KeyState {
  onHand: number;
  allocated: number;
  pending: number;
}

/** Keys whose readings changed, per shop: what the caller hands to markDirty. */
export type ChangedKeys = Map<string, SkuLocation[]>;

/**
 * Simulated ERP, WMS and POS for the demo. Each tick is a few plausible business events (a receipt raises the
 * ERP's on-hand; the WMS allocates picks; a till holds a sale as pending; a shipment leaves on-hand and clears
 * the allocation), recorded through `recordSourceChanges`: the same durable path `POST /sources/:source/events`
 * uses. Quantities stay consistent: allocated + pending never exceed on-hand.
 */
export class SourceSimulator {
  private readonly random: () => number;
  private readonly state = new Map<string, KeyState>();
  private clock: number;
  private sequence = 0;

  constructor(private readonly opts: SimulatorOptions) {
    this.random = seededRandom(opts.seed);
    this.clock = (opts.startAt ?? new Date()).getTime();
  }

  /** Opening stock for every key of every shop; call once before ticking. */
  async open(): Promise<ChangedKeys> {
    const changes: [SourceRole, IncomingChange][] = [];
    for (const shop of this.opts.shops) {
      for (const sku of shop.skus) {
        for (const locationId of shop.locations) {
          const s: KeyState = { onHand: 20 + this.int(180), allocated: 0, pending: 0 };
          s.allocated = this.int(Math.floor(s.onHand / 10));
          this.state.set(this.id(shop.shopId, { sku, locationId }), s);
          const at = this.tickClock();
          changes.push(['erp', this.change(shop.shopId, sku, locationId, s.onHand, at)]);
          changes.push(['wms', this.change(shop.shopId, sku, locationId, s.allocated, at)]);
          changes.push(['pos', this.change(shop.shopId, sku, locationId, s.pending, at)]);
        }
      }
    }
    return this.record(changes);
  }

  /** `events` business events at random keys; returns the keys that changed. */
  async tick(events: number): Promise<ChangedKeys> {
    const changes: [SourceRole, IncomingChange][] = [];
    for (let i = 0; i < events; i++) {
      const shop = this.pick(this.opts.shops);
      const sku = this.pick(shop.skus);
      const locationId = this.pick(shop.locations);
      const s = this.state.get(this.id(shop.shopId, { sku, locationId }));
      if (!s) throw new Error('SourceSimulator.tick before open()');
      const at = this.tickClock();
      const free = s.onHand - s.allocated - s.pending;
      const roll = this.random();
      if (roll < 0.35 && free > 0) {
        s.allocated += 1 + this.int(Math.min(3, free));
        changes.push(['wms', this.change(shop.shopId, sku, locationId, s.allocated, at)]);
      } else if (roll < 0.6 && free > 0) {
        s.pending += 1;
        changes.push(['pos', this.change(shop.shopId, sku, locationId, s.pending, at)]);
      } else if (roll < 0.8) {
        // shipment and till close: picked and sold units leave the building
        s.onHand -= s.allocated + s.pending;
        s.allocated = 0;
        s.pending = 0;
        changes.push(['erp', this.change(shop.shopId, sku, locationId, s.onHand, at)]);
        changes.push(['wms', this.change(shop.shopId, sku, locationId, 0, at)]);
        changes.push(['pos', this.change(shop.shopId, sku, locationId, 0, at)]);
      } else {
        s.onHand += 5 + this.int(40);
        changes.push(['erp', this.change(shop.shopId, sku, locationId, s.onHand, at)]);
      }
    }
    return this.record(changes);
  }

  /** What the simulated systems hold now for a key (for tests and the demo's table). */
  truth(shopId: string, key: SkuLocation): KeyState | undefined {
    const s = this.state.get(this.id(shopId, key));
    return s ? { ...s } : undefined;
  }

  private async record(changes: [SourceRole, IncomingChange][]): Promise<ChangedKeys> {
    for (const role of ['erp', 'wms', 'pos'] as const) {
      const batch = changes.filter(([r]) => r === role).map(([, c]) => c);
      await recordSourceChanges(this.opts.db, this.opts.sources[role], batch);
    }
    const changed: ChangedKeys = new Map();
    const seen = new Set<string>();
    for (const [, c] of changes) {
      const id = this.id(c.shopId, c);
      if (seen.has(id)) continue;
      seen.add(id);
      const list = changed.get(c.shopId) ?? [];
      list.push({ sku: c.sku, locationId: c.locationId });
      changed.set(c.shopId, list);
    }
    return changed;
  }

  private change(shopId: string, sku: string, locationId: string, quantity: number, at: string): IncomingChange {
    return { shopId, sku, locationId, quantity, occurredAt: at, externalId: `sim-${this.opts.seed}-${this.clock}-${++this.sequence}` };
  }

  private tickClock(): string {
    this.clock += 1 + this.int(1000);
    return new Date(this.clock).toISOString();
  }

  private id(shopId: string, key: SkuLocation): string {
    return `${shopId}|${skuLocationKey(key)}`;
  }

  private int(below: number): number {
    return below <= 0 ? 0 : Math.floor(this.random() * below);
  }

  private pick<T>(items: T[]): T {
    return items[this.int(items.length)]!;
  }
}
