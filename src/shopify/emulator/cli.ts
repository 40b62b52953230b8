import pino from 'pino';
import type { ShopifyPlan } from './plans.js';
import { startEmulator, type RunningEmulator } from './index.js';

/** Starts the emulator for `inventory-sync emulator`, seeds nothing, and runs until SIGINT/SIGTERM. */
export async function runEmulatorFromCli(opts: { port?: number; plan?: ShopifyPlan; host?: string } = {}): Promise<RunningEmulator> {
  const logger = pino({ name: 'shopify-emulator' });
  const running = await startEmulator({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1', defaultPlan: opts.plan ?? 'standard', logger: false });
  logger.info({ url: running.url, plan: opts.plan ?? 'standard' }, `Shopify Admin API emulator listening on ${running.url} (POST ${running.url}/admin/api/2026-10/graphql.json, control API under /_emulator/)`);
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping emulator');
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return running;
}
