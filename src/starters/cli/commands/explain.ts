import type { Command } from 'commander';
import { readEnv } from '../../../config/env.js';
import { Errors } from '../../../domain/errors.js';
import { createAppContext } from '../../../runtime/context.js';
import { operatorConfig, out } from './io.js';

/** `explain SHOP SKU [LOCATION]`: why ATS and Shopify show what they do (docs/console.md). */
export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('why ATS and Shopify show what they do: components with source and age, claims, buffer, Shopify now, last writes, in flight')
    .argument('<shop>', 'shop id')
    .argument('<sku>', 'SKU')
    .argument('[location]', 'location id (default: every location of the SKU)')
    .option('--json', 'print JSON instead of text')
    .option('--writes <n>', 'how many audit-log writes to show (1-500)', '10')
    .action(async (shop: string, sku: string, location: string | undefined, opts: { json?: boolean; writes: string }) => {
      const writes = Number(opts.writes);
      if (!Number.isInteger(writes) || writes < 1 || writes > 500) throw Errors.ArgumentInvalid(`--writes: expected a whole number from 1 to 500, got "${opts.writes}"`);
      const env = readEnv();
      const { explainSku } = await import('../../../reads/explain.js');
      const { formatExplanation } = await import('../../../reads/explain-format.js');
      const ctx = await createAppContext({ env, config: operatorConfig(env) });
      try {
        const keys = await explainSku(ctx, shop, sku, location, { writes });
        out(opts.json ? JSON.stringify({ shopId: shop, sku, locations: keys }, null, 2) : keys.map(formatExplanation).join('\n\n'));
      } finally {
        await ctx.close();
      }
    });
}
