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

/** Where loggers created from now on write: stdout (a service's log stream) unless `logToStderr` was called. */
let toStderr = false;

/**
 * A one-shot command's output is its stdout (`explain --json`, `schedules list`): its log lines go to stderr, so
 * they never mix with what a script parses.
 */
export function logToStderr(): void {
  toStderr = true;
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'inventory-sync'): Logger {
  const options = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return toStderr ? pino(options, pino.destination({ dest: 2, sync: true })) : pino(options);
}

export type { Logger };
