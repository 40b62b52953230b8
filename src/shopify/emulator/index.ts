import type { AddressInfo } from 'node:net';
import { Emulator, type EmulatorSettings } from './emulator.js';
import type { ShopifyPlan } from './plans.js';
import { buildServer } from './server.js';

export type { ShopifyPlan } from './plans.js';
export { PLAN_LIMITS } from './plans.js';
export { Emulator, SUPPORTED_API_VERSIONS, DEFAULT_API_VERSION } from './emulator.js';
export type { CreateShopInput, OrderView, LevelView, EmulatorSettings } from './emulator.js';
export type { FaultConfig, OneShotFault } from './faults.js';
export type { WebhookSettings } from './webhooks.js';
export { signWebhook } from './webhooks.js';
export { EmulatorError } from './errors.js';

/** pino-compatible logger (fastify accepts a pino instance). */
export interface PinoLike {
  info(...args: unknown[]): void;
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  child(...args: unknown[]): PinoLike;
}

export interface EmulatorOptions extends Omit<EmulatorSettings, 'defaultPlan'> {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  defaultPlan?: ShopifyPlan;
  logger?: false | PinoLike;
}

export interface RunningEmulator {
  /** Origin only, e.g. http://127.0.0.1:43121 */
  url: string;
  emulator: Emulator;
  close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emulator = new Emulator({
    ...(opts.defaultPlan ? { defaultPlan: opts.defaultPlan } : {}),
    ...(opts.webhooks ? { webhooks: opts.webhooks } : {}),
    ...(opts.bulkDelayMs !== undefined ? { bulkDelayMs: opts.bulkDelayMs } : {}),
  });
  const app = buildServer(emulator, { logger: opts.logger || undefined });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const addr = app.server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${addr.port}`;
  emulator.baseUrl = url;
  return {
    url,
    emulator,
    close: async () => {
      emulator.close();
      await app.close();
    },
  };
}
