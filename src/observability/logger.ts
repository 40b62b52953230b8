import { pino, type Logger } from 'pino';

/** Secrets and customer data never reach the logs: these paths are censored wherever they appear. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-shopify-access-token"]',
  'req.headers["x-shopify-hmac-sha256"]',
  'req.headers.cookie',
  'accessToken',
  'token',
  'secret',
  '*.email',
  '*.phone',
  '*.customer',
  '*.billing_address',
  '*.shipping_address',
];

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'inventory-sync'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export type { Logger };
