/** The console's data: /console/api/* with the operator token as a bearer token (kept for this tab only). */
const TOKEN_KEY = 'inventory-sync.operator-token';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string): Promise<T> {
  const res = await fetch(`/console/api${path}`, { headers: { authorization: `Bearer ${token.get() ?? ''}` }, cache: 'no-store' });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string; details?: { field?: string } };
    throw new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText, body.details?.field);
  }
  return (await res.json()) as T;
}

export interface ShopHealth {
  shopId: string;
  domain: string;
  mappedKeys: number;
  lastWrite: { at: string; sku: string; locationId: string; outcome: string; ageSeconds: number } | null;
  writesLastHour: Record<string, number>;
  lag: { samples: number; p50Seconds: number; p95Seconds: number; maxSeconds: number } | null;
  throttle: {
    bucket: { currentlyAvailable: number; maximumAvailable: number; restoreRate: number; observedAt: string } | null;
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
  openReservations: Record<string, number>;
  alerts: { id: number; at: string; kind: string; subject: string; details: Record<string, unknown> }[];
}

export interface SourceReading {
  source: string;
  role: string;
  units: number | null;
  error?: string;
  recordedAt: string | null;
  ageSeconds: number | null;
}

export interface KeyExplanation {
  shopId: string;
  sku: string;
  locationId: string;
  ats: number | null;
  formula: string;
  note?: string;
  components: { name: string; units: number; from: string; sources?: SourceReading[]; ageSeconds?: number | null }[];
  claims: { orderId: string; units: number; state: string; updatedAt: string }[];
  buffer: { units: number; strategy: string; from: string; rule: string };
  shopify: { available: number | null; committed: number | null; error?: string };
  writes: { at: string; trigger: string; version: string | null; ats: number | null; previousShopify: number | null; delta: number | null; outcome: string; errorCode: string | null }[];
  inFlight: {
    dirty: { triggers: string[]; since: string | null } | null;
    dirtyUnknown?: string;
    lease: { version: string; attempt: number; expiresInMs: number } | null;
    guard: { version: string | null; quantity: number | null; lastSeenShopify: number | null };
  };
}

export interface HistoryPoint {
  at: string;
  ats: number | null;
  shopifyBefore: number | null;
  shopifyAfter: number | null;
  outcome: string;
  trigger: string;
}
