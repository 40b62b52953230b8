import { createHash } from 'node:crypto';

/**
 * An idempotency key derived from what is written, not drawn at random per attempt: a retry after a lost
 * response derives the same key and Shopify replays the first result, while any change to the request
 * (another changeFromQuantity, another salt such as a newer computation version) derives a new key.
 * Formatted as a UUID (version nibble 8, "custom") because that is the shape Shopify's examples use.
 */
export function deriveIdempotencyKey(parts: {
  shopDomain: string;
  mutation: string;
  content: unknown;
  salt: string;
}): string {
  const hex = createHash('sha256')
    .update(canonicalJson([parts.shopDomain, parts.mutation, parts.salt, parts.content]))
    .digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** JSON with object keys sorted, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
