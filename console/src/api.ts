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

// The answers' shapes are the server's own (src/reads/views.ts): one definition for both sides.
export type { HistoryPoint, KeyExplanation, ShopHealth, SourceReading } from '../../src/reads/views.js';
