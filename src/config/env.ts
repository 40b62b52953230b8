import { z } from 'zod';
import { Errors } from '../domain/errors.js';

/**
 * Every environment variable the application reads, with its default. docker-compose.yml and the README use
 * exactly these names; a test checks that compose sets nothing the application does not read.
 */
const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('inventory-sync'),
  DATABASE_URL: z.url({ error: 'expected a postgres:// URL' }).default('postgres://postgres@127.0.0.1:5432/inventory_sync'),
  REDIS_URL: z.url({ error: 'expected a redis:// URL' }).default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('isync:'),
  INVENTORY_SYNC_CONFIG: z.string().min(1).optional(),
  SHOPIFY_API_BASE_URL: z.url({ error: 'expected an http(s) origin' }).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INVENTORY_SYNC_DATA_DIR: z.string().min(1).default('.data'),
  /** The worker's GET /metrics (Temporal SDK and ours); 0 = any free port. */
  METRICS_PORT: z.coerce.number({ error: 'expected a port number' }).int('expected a port number').min(0, 'expected a port 0-65535').max(65535, 'expected a port 0-65535').default(9464),
});

export type Env = z.output<typeof envSchema>;
export const ENV_NAMES = Object.keys(envSchema.shape) as (keyof Env)[];

export function readEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw Errors.ConfigInvalid(`invalid environment:\n${lines.join('\n')}`);
  }
  return result.data;
}
