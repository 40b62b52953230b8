import type { Command } from 'commander';
import { readEnv } from '../../../config/env.js';
import { loadConfig } from '../../../config/load.js';
import { importMappings } from '../../../db/mappings.js';
import { migrate } from '../../../db/migrate.js';
import { registerShops } from '../../../db/shops.js';
import { assertDatabaseAnswers } from '../../../runtime/context.js';
import { createShopifyClients } from '../../../runtime/shopify-clients.js';
import { configCheck } from '../config-check.js';
import { readMappingsFile, verifyMappingsInShopify } from '../mappings-import.js';
import { err, out, withDb } from './io.js';

/** Setting a deployment up: the database schema and shops, the mappings, checking the configuration. */
export function registerSetupCommands(program: Command): void {
  program
    .command('mappings')
    .command('import')
    .argument('<file>', 'CSV with shop_id,sku,location_id,inventory_item_id,shopify_location_id[,variant_id]')
    .option('--no-verify', "do not check the locations and inventory items in Shopify (offline import)")
    .action(async (file: string, opts: { verify: boolean }) => {
      const rows = readMappingsFile(file);
      const env = readEnv();
      const config = loadConfig(env.INVENTORY_SYNC_CONFIG);
      if (opts.verify) {
        const shopify = createShopifyClients(config, env.SHOPIFY_API_BASE_URL ? { baseUrl: env.SHOPIFY_API_BASE_URL } : {});
        await verifyMappingsInShopify(rows, shopify);
      }
      await withDb(env.DATABASE_URL, async (db) => {
        await assertDatabaseAnswers(db, env.DATABASE_URL);
        await registerShops(db, config.shops);
        out(`imported ${await importMappings(db, rows)} mapping(s)${opts.verify ? ' (checked in Shopify)' : ''}`);
      });
    });

  program
    .command('config')
    .command('check')
    .argument('[file]', 'YAML file (default: INVENTORY_SYNC_CONFIG)')
    .option('--no-env', 'do not check that the secrets it names are set in this environment')
    .action((file: string | undefined, opts: { env: boolean }) => {
      process.exitCode = configCheck(file, out, err, opts.env);
    });

  program
    .command('migrate')
    .description('apply database migrations (a second run is a no-op)')
    .action(async () => {
      const env = readEnv();
      const config = loadConfig(env.INVENTORY_SYNC_CONFIG);
      const { applied } = await migrate(env.DATABASE_URL);
      out(applied.length === 0 ? 'database is up to date; nothing to apply' : `applied ${applied.length} migration(s): ${applied.join(', ')}`);
      await withDb(env.DATABASE_URL, async (db) => {
        const shops = await registerShops(db, config.shops);
        out(`shops: ${config.shops.length} configured, ${shops.added.length} added${shops.added.length ? ` (${shops.added.join(', ')})` : ''}, ${shops.updated.length} updated${shops.updated.length ? ` (${shops.updated.join(', ')})` : ''}`);
      });
    });
}
