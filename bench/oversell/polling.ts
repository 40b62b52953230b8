/**
 * Baseline (b): the polling design merchants run today. At each interval it reads the sources and sets Shopify's
 * `available` for every key to max(0, onHand - allocated - pending - buffer), with no claims (orders not yet
 * allocated by the WMS are invisible to it) and no compare (whatever Shopify did meanwhile, e.g. its own checkouts
 * moving available to committed, is overwritten). One batched call per poll (up to 250 keys), which is kinder to
 * Shopify than most such integrations. Bench-only.
 */
import type { SourceBook } from '../traffic/drive.js';
import type { Level, NaiveShopify } from './naive-shopify.js';

export type PollingDesign = { stop(): Promise<void>; readonly polls: number };

export function startPolling(opts: {
  sources: SourceBook;
  shopify: NaiveShopify;
  /** `${sku}|${location}` -> Shopify ids. */
  levels: Map<string, Level>;
  buffer: number;
  intervalMs: number;
  onError?: (err: unknown) => void;
}): PollingDesign {
  let polls = 0;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const poll = async () => {
    const entries = [...opts.levels].map(([key, level]) => {
      const [sku, loc] = key.split('|') as [string, string];
      const quantity = Math.max(0, opts.sources.get('erp', sku, loc) - opts.sources.get('wms', sku, loc) - opts.sources.get('pos', sku, loc) - opts.buffer);
      return { ...level, quantity };
    });
    await opts.shopify.setAvailable(entries);
    polls++;
  };
  const timer = setInterval(() => {
    if (stopped) return;
    // A poll still running when the next is due is not doubled (the integration's job lock).
    running = running.then(poll).catch((err: unknown) => opts.onError?.(err));
  }, opts.intervalMs);
  return {
    get polls() {
      return polls;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
