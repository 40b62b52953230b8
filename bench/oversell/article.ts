/**
 * Baseline (c): the source article's design as published (/work/shared/seed/000_c5a43394d265ef0c.txt), in the
 * bench only:
 * - ATS aggregator: erpOnHand - wmsAllocated - posPending - shopifyOpen - safetyBuffer, its result cached per key
 *   for `cache_ttl_seconds` (30 s, scaled with the trace) "so concurrent requests share one computation";
 * - event-driven refresh: every source change recomputes its key and the atomic writer sends it, one
 *   `setQuantity` call per SKU, no compare; the sequence check (here in memory, as its Lua script does) drops a
 *   write whose sequence is not newer;
 * - soft reservation engine: every order (Shopify's too) is decremented again with `adjustQuantity(-qty)` per
 *   line; released (+qty) on cancel and on WMS confirmation;
 * - delta sync every `interval_minutes` (15, scaled): recomputes the keys that changed since its watermark.
 * Where the article leaves a gap we take the kinder reading: ATS is clamped at 0 (Shopify refuses a negative set),
 * `shopifyOpen` (Shopify's unfulfilled order units at the key) is known without a charged read, and it hears of
 * a Shopify order the moment it is placed (no webhook delay).
 */
import type { AcceptedOrder, DesignHooks, SourceBook, SourceChange } from '../traffic/drive.js';
import type { Level, NaiveShopify } from './naive-shopify.js';

export type ArticleDesign = { hooks: DesignHooks; stop(): Promise<void>; readonly errors: unknown[] };

export function startArticleDesign(opts: {
  sources: SourceBook;
  shopify: NaiveShopify;
  levels: Map<string, Level>;
  buffer: number;
  /** The aggregator's cache TTL and the delta sync interval, already scaled to wall ms. */
  cacheTtlMs: number;
  deltaSyncIntervalMs: number;
}): ArticleDesign {
  const errors: unknown[] = [];
  const cache = new Map<string, { at: number; value: number }>();
  const seq = new Map<string, number>();
  const open = new Map<string, number>(); // shopifyOpen per key: Shopify orders placed, not cancelled (nothing ships during the sale)
  const changedSince = new Set<string>();
  let inflight: Promise<unknown>[] = [];
  const track = (p: Promise<unknown>) => {
    inflight.push(p.catch((err: unknown) => void errors.push(err)));
  };
  const key = (sku: string, loc: string) => `${sku}|${loc}`;

  const calculateNetSellable = (sku: string, loc: string): number => {
    const k = key(sku, loc);
    const hit = cache.get(k);
    if (hit && performance.now() - hit.at < opts.cacheTtlMs) return hit.value;
    const value = Math.max(0, opts.sources.get('erp', sku, loc) - opts.sources.get('wms', sku, loc) - opts.sources.get('pos', sku, loc) - (open.get(k) ?? 0) - opts.buffer);
    cache.set(k, { at: performance.now(), value });
    return value;
  };
  const commitUpdate = async (sku: string, loc: string, quantity: number, sequence: number) => {
    const k = key(sku, loc);
    if ((seq.get(k) ?? 0) >= sequence) return; // stale_sequence
    seq.set(k, sequence);
    await opts.shopify.setAvailable([{ ...opts.levels.get(k)!, quantity }]);
  };
  const refresh = (sku: string, loc: string, sequence: number) => track(commitUpdate(sku, loc, calculateNetSellable(sku, loc), sequence));
  const adjust = (o: AcceptedOrder, delta: number) => track(opts.shopify.adjustAvailable([{ ...opts.levels.get(key(o.sku, o.locationId))!, delta }]));

  const timer = setInterval(() => {
    const keys = [...changedSince];
    changedSince.clear();
    for (const k of keys) {
      const [sku, loc] = k.split('|') as [string, string];
      refresh(sku, loc, Date.now());
    }
  }, opts.deltaSyncIntervalMs);

  const hooks: DesignHooks = {
    sourceChanged: (c: SourceChange) => {
      changedSince.add(key(c.sku, c.locationId));
      refresh(c.sku, c.locationId, Date.parse(c.occurredAt));
    },
    orderAccepted: (o) => {
      if (o.channel === 'storefront') open.set(key(o.sku, o.locationId), (open.get(key(o.sku, o.locationId)) ?? 0) + o.quantity);
      adjust(o, -o.quantity);
    },
    orderCancelled: (o) => {
      if (o.channel === 'storefront') open.set(key(o.sku, o.locationId), (open.get(key(o.sku, o.locationId)) ?? 0) - o.quantity);
      adjust(o, o.quantity);
    },
    allocated: (o) => {
      adjust(o, o.quantity); // reservation released on confirmation
      changedSince.add(key(o.sku, o.locationId));
      refresh(o.sku, o.locationId, Date.now());
    },
  };
  return {
    hooks,
    errors,
    async stop() {
      clearInterval(timer);
      while (inflight.length > 0) {
        const now = inflight;
        inflight = [];
        await Promise.all(now);
      }
    },
  };
}
