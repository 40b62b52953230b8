/**
 * A flash-sale trace: a seeded, replayable story of demand across three channels (Shopify storefront, a POS, a
 * marketplace) and of what happens in the warehouse meanwhile (WMS allocations, ERP receipts, cancellations).
 * Events carry ids and quantities only (no customer data). Saved as JSONL: one header line, then one event a line.
 *
 * Shared by bench/oversell (issue 12) and the chaos bench (issue 13).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { Errors } from '../../src/domain/errors.js';
import { seededRandom, type Random } from '../../src/domain/prng.js';

/** Units of a SKU at a location when the sale starts. */
export type StockLine = { sku: string; locationId: string; units: number };

/** The channels that sell. `storefront` is Shopify (the emulator); `pos` and `marketplace` reach us over HTTP. */
export type Channel = 'storefront' | 'pos' | 'marketplace';
/** The channels whose orders the WMS allocates and a shopper may cancel (a POS sale is handed over at the till). */
export type OrderChannel = 'storefront' | 'marketplace';

export type TraceEvent =
  /** A Shopify checkout (placed in the emulator, which routes it to a location and refuses it when short). */
  | { kind: 'storefront_order'; t: number; orderId: string; sku: string; quantity: number }
  /** A sale at a store's till, reported by the POS as a source event (its pending sales for the key). */
  | { kind: 'pos_sale'; t: number; saleId: string; sku: string; locationId: string; quantity: number }
  /** An order from a marketplace, sent to `POST /orders`; the marketplace lists the key at `locationId`. */
  | { kind: 'marketplace_order'; t: number; orderId: string; sku: string; locationId: string; quantity: number }
  /** The WMS allocates an earlier order's units (skipped if that order was refused or cancelled). */
  | { kind: 'wms_allocation'; t: number; allocationId: string; channel: OrderChannel; orderId: string; quantity: number }
  /** Goods received: the ERP's on-hand for the key rises by `quantity`. */
  | { kind: 'erp_receipt'; t: number; receiptId: string; sku: string; locationId: string; quantity: number }
  /** The shopper cancels an earlier order before it is allocated (skipped if refused or already allocated). */
  | { kind: 'cancel'; t: number; channel: OrderChannel; orderId: string };

export type TraceEventKind = TraceEvent['kind'];

export type Trace = {
  seed: number;
  skus: string[];
  /** Location codes as the sources name them; the last `posLocations` of them are stores with a till. */
  locations: string[];
  /** Where the POS sells (a subset of `locations`). */
  posLocations: string[];
  initialStock: StockLine[];
  /** Safety buffer configured for the run, units per (sku, location); lost sales count only above it. */
  buffer: number;
  /** SKUs that get most of the demand (the picture shows one of them). */
  hotSkus: string[];
  events: TraceEvent[];
};

export type GenerateOptions = {
  seed?: number;
  /** Number of SKUs in the drop (names `DROP-0`...). */
  skus?: number;
  locations?: string[];
  /** How many of the locations (the last ones) are stores with a POS. */
  posLocationCount?: number;
  /** Units per (sku, location) at start: drawn uniformly in [min, max]. */
  stockPerKey?: { min: number; max: number };
  /** Demanded units over supplied units (initial stock + receipts). Default 3. */
  demandRatio?: number;
  /** Length of the sale in trace milliseconds. */
  durationMs?: number;
  /** Share of demanded units per channel (normalised). */
  mix?: Partial<Record<Channel, number>>;
  /** Number of hot SKUs and the share of demand they get. */
  hot?: { count: number; share: number };
  /** Share of accepted-able orders the WMS allocates during the sale, and the delay range after the order. */
  allocation?: { share: number; delayMs: { min: number; max: number } };
  /** ERP receipts during the sale: how many, and units each. */
  receipts?: { count: number; units: { min: number; max: number } };
  /** Share of orders cancelled, and the delay range after the order. */
  cancels?: { share: number; delayMs: { min: number; max: number } };
  /** Largest quantity of one order or sale (1..max, mostly 1). */
  maxQuantity?: number;
  buffer?: number;
};

export const DEFAULTS = {
  seed: 1,
  skus: 6,
  locations: ['WH1', 'STORE1'],
  posLocationCount: 1,
  stockPerKey: { min: 4, max: 10 },
  demandRatio: 3,
  durationMs: 20_000,
  mix: { storefront: 0.5, pos: 0.2, marketplace: 0.3 },
  hot: { count: 2, share: 0.6 },
  allocation: { share: 0.4, delayMs: { min: 1500, max: 6000 } },
  receipts: { count: 3, units: { min: 2, max: 6 } },
  cancels: { share: 0.04, delayMs: { min: 500, max: 4000 } },
  maxQuantity: 2,
  buffer: 0,
} satisfies Required<GenerateOptions>;

const int = (rnd: Random, min: number, max: number) => min + Math.floor(rnd() * (max - min + 1));
const pick = <T>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
function weighted<T>(rnd: Random, entries: readonly (readonly [T, number])[]): T {
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [v, w] of entries) {
    x -= w;
    if (x < 0) return v;
  }
  return entries.at(-1)![0];
}

/**
 * A seeded trace: the same options give the same events. Demand (in units) is `demandRatio` times the supply
 * (initial stock plus receipts), spread over the SKUs (hot ones get `hot.share` of it) and over the sale with a
 * rush at the start (arrival density falls linearly to a third by the end), as a drop does.
 */
export function generateTrace(options: GenerateOptions = {}): Trace {
  const o = { ...DEFAULTS, ...options, mix: { ...DEFAULTS.mix, ...options.mix } };
  if (o.skus < 1 || o.locations.length < 1 || o.posLocationCount > o.locations.length) throw Errors.ArgumentInvalid('generateTrace: needs at least one SKU and one location, and no more POS locations than locations');
  const rnd = seededRandom(o.seed);
  const skus = Array.from({ length: o.skus }, (_, i) => `DROP-${i}`);
  const hotSkus = skus.slice(0, Math.min(o.hot.count, skus.length));
  const posLocations = o.locations.slice(o.locations.length - o.posLocationCount);
  const initialStock: StockLine[] = skus.flatMap((sku) => o.locations.map((locationId) => ({ sku, locationId, units: int(rnd, o.stockPerKey.min, o.stockPerKey.max) })));

  const events: TraceEvent[] = [];
  const receipts = Array.from({ length: o.receipts.count }, (_, i) => ({
    kind: 'erp_receipt' as const,
    t: Math.round(o.durationMs * (0.2 + 0.6 * rnd())),
    receiptId: `rcpt-${i}`,
    sku: pick(rnd, hotSkus.length > 0 ? hotSkus : skus),
    locationId: pick(rnd, o.locations),
    quantity: int(rnd, o.receipts.units.min, o.receipts.units.max),
  }));
  events.push(...receipts);

  const supplyOf = new Map<string, number>();
  for (const s of initialStock) supplyOf.set(s.sku, (supplyOf.get(s.sku) ?? 0) + s.units);
  for (const r of receipts) supplyOf.set(r.sku, (supplyOf.get(r.sku) ?? 0) + r.quantity);
  const totalSupply = [...supplyOf.values()].reduce((a, b) => a + b, 0);
  const totalDemand = Math.round(totalSupply * o.demandRatio);
  // Hot SKUs share hot.share of the demand; the rest share the remainder, in proportion to their supply.
  const hotSupply = hotSkus.reduce((s, k) => s + supplyOf.get(k)!, 0);
  const coldSupply = totalSupply - hotSupply;
  const skuWeights = skus.map((sku) => [sku, hotSkus.includes(sku) ? (o.hot.share * supplyOf.get(sku)!) / Math.max(1, hotSupply) : ((1 - o.hot.share) * supplyOf.get(sku)!) / Math.max(1, coldSupply)] as const);
  const channelWeights = (['storefront', 'pos', 'marketplace'] as const).map((c) => [c, o.mix[c] ?? 0] as const);
  // Arrival time with density falling linearly from 1 to 1/3 over the sale (inverse-CDF sampling).
  const arrival = () => {
    const u = rnd();
    const a = 1;
    const b = 1 / 3;
    const x = (a - Math.sqrt(a * a - u * (a * a - b * b))) / (a - b);
    return Math.round(x * o.durationMs);
  };

  let demanded = 0;
  let n = 0;
  while (demanded < totalDemand) {
    const sku = weighted(rnd, skuWeights);
    const channel = weighted(rnd, channelWeights);
    const quantity = Math.min(totalDemand - demanded, rnd() < 0.8 ? 1 : int(rnd, 1, o.maxQuantity));
    const t = arrival();
    demanded += quantity;
    n++;
    if (channel === 'pos') {
      events.push({ kind: 'pos_sale', t, saleId: `pos-${n}`, sku, locationId: pick(rnd, posLocations), quantity });
      continue;
    }
    const orderId = `${channel === 'storefront' ? 'sf' : 'mk'}-${n}`;
    if (channel === 'storefront') events.push({ kind: 'storefront_order', t, orderId, sku, quantity });
    else events.push({ kind: 'marketplace_order', t, orderId, sku, locationId: pick(rnd, o.locations), quantity });
    const r = rnd();
    if (r < o.cancels.share) {
      events.push({ kind: 'cancel', t: t + int(rnd, o.cancels.delayMs.min, o.cancels.delayMs.max), channel, orderId });
    } else if (r < o.cancels.share + o.allocation.share) {
      events.push({ kind: 'wms_allocation', t: t + int(rnd, o.allocation.delayMs.min, o.allocation.delayMs.max), allocationId: `alloc-${n}`, channel, orderId, quantity });
    }
  }
  // Stable order: by time, then by position generated (sort is stable).
  events.sort((a, b) => a.t - b.t);
  return { seed: o.seed, skus, locations: o.locations, posLocations, initialStock, buffer: o.buffer, hotSkus, events };
}

// ---------------------------------------------------------------------------------------------------------------
// JSONL

const id = z.string().min(1).max(200);
const qty = z.number().int('expected a whole number').min(1, 'expected a quantity >= 1').max(1_000_000, 'expected a quantity <= 1000000');
const t = z.number().int('expected whole milliseconds').min(0, 'expected t >= 0');
const channel = z.enum(['storefront', 'marketplace']);
const eventSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('storefront_order'), t, orderId: id, sku: id, quantity: qty }),
    z.strictObject({ kind: z.literal('pos_sale'), t, saleId: id, sku: id, locationId: id, quantity: qty }),
    z.strictObject({ kind: z.literal('marketplace_order'), t, orderId: id, sku: id, locationId: id, quantity: qty }),
    z.strictObject({ kind: z.literal('wms_allocation'), t, allocationId: id, channel, orderId: id, quantity: qty }),
    z.strictObject({ kind: z.literal('erp_receipt'), t, receiptId: id, sku: id, locationId: id, quantity: qty }),
    z.strictObject({ kind: z.literal('cancel'), t, channel, orderId: id }),
  ],
  { error: 'expected kind to be one of storefront_order, pos_sale, marketplace_order, wms_allocation, erp_receipt, cancel' },
);
const headerSchema = z.strictObject({
  type: z.literal('trace', { error: 'expected the header line {"type":"trace",...}' }),
  version: z.literal(1, { error: 'expected version 1' }),
  seed: z.number().int(),
  skus: z.array(id).min(1),
  locations: z.array(id).min(1),
  posLocations: z.array(id),
  initialStock: z.array(z.strictObject({ sku: id, locationId: id, units: z.number().int().min(0) })),
  buffer: z.number().int().min(0),
  hotSkus: z.array(id),
});

export function formatTrace(trace: Trace): string {
  const { events, ...rest } = trace;
  return [JSON.stringify({ type: 'trace', version: 1, ...rest }), ...events.map((e) => JSON.stringify(e))].join('\n') + '\n';
}

export function writeTrace(path: string, trace: Trace): void {
  writeFileSync(path, formatTrace(trace));
}

function problem(path: string, line: number, what: string): never {
  throw Errors.ArgumentInvalid(`trace ${path}: line ${line}: ${what}`, { path, line });
}

const describe = (issues: z.core.$ZodIssue[]) =>
  issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');

/** Parses a JSONL trace; the first bad line is refused with an error naming its number and what is wrong. */
export function parseTrace(text: string, path = '<text>'): Trace {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) problem(path, 1, 'empty file: expected the header line {"type":"trace",...}');
  const json = (raw: string, n: number): unknown => {
    try {
      return JSON.parse(raw);
    } catch (err) {
      return problem(path, n, `not JSON (${(err as Error).message})`);
    }
  };
  const header = headerSchema.safeParse(json(lines[0]!, 1));
  if (!header.success) problem(path, 1, describe(header.error.issues));
  const { type: _type, version: _version, ...h } = header.data;
  const skus = new Set(h.skus);
  const locations = new Set(h.locations);
  const orders = new Map<string, OrderChannel>();
  const events: TraceEvent[] = [];
  let last = 0;
  lines.slice(1).forEach((raw, i) => {
    const n = i + 2;
    if (raw.trim() === '') problem(path, n, 'blank line');
    const parsed = eventSchema.safeParse(json(raw, n));
    if (!parsed.success) problem(path, n, describe(parsed.error.issues));
    const e = parsed.data;
    if (e.t < last) problem(path, n, `t ${e.t} is earlier than the previous event's ${last}: events must be in time order`);
    last = e.t;
    if ('sku' in e && !skus.has(e.sku)) problem(path, n, `sku "${e.sku}" is not in the header's skus`);
    if ('locationId' in e && !locations.has(e.locationId)) problem(path, n, `locationId "${e.locationId}" is not in the header's locations`);
    if (e.kind === 'storefront_order' || e.kind === 'marketplace_order') {
      const ch = e.kind === 'storefront_order' ? 'storefront' : 'marketplace';
      if (orders.has(`${ch}:${e.orderId}`)) problem(path, n, `orderId "${e.orderId}" repeats an earlier ${ch} order`);
      orders.set(`${ch}:${e.orderId}`, ch);
    }
    if ((e.kind === 'wms_allocation' || e.kind === 'cancel') && !orders.has(`${e.channel}:${e.orderId}`)) {
      problem(path, n, `${e.kind} names ${e.channel} order "${e.orderId}", which no earlier line places`);
    }
    events.push(e);
  });
  return { ...h, events };
}

export function readTrace(path: string): Trace {
  return parseTrace(readFileSync(path, 'utf8'), path);
}
