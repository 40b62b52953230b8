/**
 * What the read routes answer (GET /explain, /console/api/*): plain types with no runtime, shared by the server
 * (src/reads/explain.ts, console-data.ts) and the console's page (console/src/api.ts), so the two cannot drift.
 * Imports types only, from pure domain modules: the console's build (DOM, no Node) type-checks this file too.
 */
import type { AtsComponents } from '../domain/ats.js';
import type { BufferDerivation } from '../domain/safety-buffer.js';

export interface SourceReading {
  source: string;
  role: string;
  /** null: the source has no record of the key (or failed: see error). */
  units: number | null;
  /** The source did not answer (timeout, failure): ATS cannot be computed, as a refresh would write nothing. */
  error?: string;
  /** When the reading we hold was last recorded (pushed events, synced snapshots); null for a live-only source. */
  recordedAt: string | null;
  ageSeconds: number | null;
}

export interface ComponentView {
  name: keyof AtsComponents;
  units: number;
  /** Where the number comes from, in words (for the buffer and the claims) or by source. */
  from: string;
  sources?: SourceReading[];
  ageSeconds?: number | null;
}

export interface ClaimView {
  orderId: string;
  units: number;
  state: string;
  updatedAt: string;
}

export interface WriteView {
  at: string;
  trigger: string;
  version: string | null;
  ats: number | null;
  previousShopify: number | null;
  delta: number | null;
  outcome: string;
  errorCode: string | null;
}

export interface InFlightView {
  /** Waiting in the shop's refresh workflow for its next flush; null when not dirty (or unknown). */
  dirty: { triggers: string[]; since: string | null } | null;
  /** Set when the pending keys could not be asked (no worker, Temporal down). */
  dirtyUnknown?: string;
  /** A computation is between its guard check and the end of its Shopify write. */
  lease: { version: string; attempt: number; expiresInMs: number } | null;
  /** The newest computation the guard let write, and Shopify's quantity as last seen. */
  guard: { version: string | null; quantity: number | null; lastSeenShopify: number | null; lastSeenDoubtful: boolean };
}

export interface KeyExplanation {
  shopId: string;
  sku: string;
  locationId: string;
  ats: number | null;
  formula: string;
  /** Why ats is null (no ERP has a record of the key). */
  note?: string;
  components: ComponentView[];
  claims: ClaimView[];
  buffer: BufferDerivation;
  shopify: { available: number | null; committed: number | null; error?: string; inventoryItemId: string; locationId: string };
  writes: WriteView[];
  inFlight: InFlightView;
  explainedAt: string;
}

export interface ShopHealth {
  shopId: string;
  domain: string;
  mappedKeys: number;
  lastWrite: { at: string; sku: string; locationId: string; outcome: string; ageSeconds: number } | null;
  /** Audit rows of the last hour by outcome (applied, unchanged, stale_exhausted, error, ...). */
  writesLastHour: Record<string, number>;
  /**
   * From a source reading being recorded to the write that carried it to Shopify: for each key written in the
   * last hour because of a source, its latest such write (the measure of isync_event_to_shopify_seconds).
   */
  lag: { samples: number; p50Seconds: number; p95Seconds: number; maxSeconds: number } | null;
  throttle: {
    /** Shopify's cost bucket for this shop, as its last answer reported it; null when Shopify could not be asked. */
    bucket: { currentlyAvailable: number; maximumAvailable: number; restoreRate: number; observedAt: string } | null;
    /** Writes of the last hour that failed on THROTTLED after every retry. */
    throttledWritesLastHour: number;
    state: 'ok' | 'low' | 'throttled' | 'unknown';
  };
  reconciliation: {
    startedAt: string;
    finishedAt: string | null;
    status: string;
    keysChecked: number;
    drifted: number;
    corrected: number;
    driftUnits: number;
    worst: { sku: string; locationId: string; shopify: number | null; ats: number | null; drift: number; corrected: boolean }[];
  } | null;
  /** Reservations not yet cancelled, fulfilled or expired, by state. */
  openReservations: Record<string, number>;
  alerts: { id: number; at: string; kind: string; subject: string; details: Record<string, unknown> }[];
}

/** Points for the console's chart, oldest first: ATS each write computed, and Shopify's `available` before and after. */
export interface HistoryPoint {
  at: string;
  ats: number | null;
  shopifyBefore: number | null;
  /** What Shopify holds after the write: the ATS when applied, else what it held. */
  shopifyAfter: number | null;
  outcome: string;
  trigger: string;
}

