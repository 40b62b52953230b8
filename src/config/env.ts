import { z } from 'zod';
import { Errors } from '../domain/errors.js';

/**
 * Every environment variable the application reads, with its default. docker-compose.yml and the README use
 * exactly these names; a test checks that compose sets nothing the application does not read.
 */
const port = (fallback: number) =>
  z.coerce.number({ error: 'expected a port number' }).int('expected a port number').min(0, 'expected a port 0-65535').max(65535, 'expected a port 0-65535').default(fallback);

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('inventory-sync'),
  DATABASE_URL: z.url({ error: 'expected a postgres:// URL' }).default('postgres://postgres@127.0.0.1:5432/inventory_sync'),
  REDIS_URL: z.url({ error: 'expected a redis:// URL' }).default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('isync:'),
  INVENTORY_SYNC_CONFIG: z.string().min(1).optional(),
  SHOPIFY_API_BASE_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ error: 'expected an http(s) origin' }).optional()),
  /** Set (to 1 or true) only where SHOPIFY_API_BASE_URL is a test server on another host over plain http. */
  SHOPIFY_API_ALLOW_INSECURE: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['1', 'true', '0', 'false'], { error: 'expected 1 or true' }).optional()),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** The server's listen address (0.0.0.0: every interface; 127.0.0.1: this machine only). */
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INVENTORY_SYNC_DATA_DIR: z.string().min(1).default('.data'),
  /** The worker's GET /metrics (Temporal SDK and ours); 0 = any free port. */
  METRICS_PORT: port(9464),
  /** `npm start` only: its Shopify emulator, and the Web UI of the Temporal dev server it starts. */
  DEMO_EMULATOR_PORT: port(8090),
  DEMO_TEMPORAL_UI_PORT: port(8233),
});

export type Env = z.output<typeof envSchema>;
export const ENV_NAMES = Object.keys(envSchema.shape) as (keyof Env)[];

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Shop access tokens travel to SHOPIFY_API_BASE_URL: over https, or to this machine (the emulator of `npm start`).
 * Plain http to another host only with SHOPIFY_API_ALLOW_INSECURE, which says it is a test server.
 */
function insecureShopifyBase(env: Env): string | null {
  if (!env.SHOPIFY_API_BASE_URL) return null;
  const url = new URL(env.SHOPIFY_API_BASE_URL);
  if (url.protocol === 'https:' || LOOPBACK.test(url.hostname)) return null;
  if (env.SHOPIFY_API_ALLOW_INSECURE === '1' || env.SHOPIFY_API_ALLOW_INSECURE === 'true') return null;
  return `SHOPIFY_API_BASE_URL: expected https:// (shop access tokens are sent there), or a loopback host; for a test server on another host over http set SHOPIFY_API_ALLOW_INSECURE=1`;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw Errors.ConfigInvalid(`invalid environment:\n${lines.join('\n')}`);
  }
  const insecure = insecureShopifyBase(result.data);
  if (insecure) throw Errors.ConfigInvalid(`invalid environment:\n${insecure}`);
  return result.data;
}
