import type { SkuLocation } from '../domain/sku-location.js';

export interface RacePointContext {
  shopId: string;
  keys: SkuLocation[];
  version: bigint;
  /** 0 for the first computation of a call, then one per stale compare. */
  round: number;
}

/**
 * Hooks inside refreshKeys where tests force an interleaving (an order placed between our read and our write,
 * a second computation overtaking the first) instead of hoping for it with sleeps. Production passes none.
 */
export interface RefreshRacePoints {
  /** The version is taken; no source has been read yet. */
  afterVersionTaken?(ctx: RacePointContext): Promise<void>;
  /** Components are read; the guard has not been asked yet. */
  afterComponentsRead?(ctx: RacePointContext): Promise<void>;
  /** An older computation holds this key's write lease; this one waits for it (called once per wait). */
  whileKeyBusy?(ctx: RacePointContext & { busyWith: bigint }): Promise<void>;
  /** The guard let these keys through; Shopify has not been written yet. */
  beforeShopifyWrite?(ctx: RacePointContext): Promise<void>;
  /**
   * Immediately before a send (each try, after any wait in the client), before the fence is checked: where a
   * stalled attempt resumes.
   */
  beforeSend?(ctx: RacePointContext & { attempt: number }): Promise<void>;
}
