import { createHmac, timingSafeEqual } from 'node:crypto';

/** Shopify signs the raw body: base64 HMAC-SHA256 keyed with the app's secret. Compared in constant time. */
export function verifyShopifyHmac(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(header, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

