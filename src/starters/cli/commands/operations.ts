import type { Command } from 'commander';
import { Option } from 'commander';
import { listAlerts, parseSince } from '../../../alerts/outbox.js';
import { readEnv } from '../../../config/env.js';
import { Errors } from '../../../domain/errors.js';
import { formatAlertTable } from '../alerts-list.js';
import { exportHistory, replay } from '../replay.js';
import { err, out, withDb, withTemporalClient } from './io.js';

/** What an operator looks at: alerts, an order's reservation, workflow histories and their replay. */
export function registerOperationsCommands(program: Command): void {
  program
    .command('alerts')
    .command('list')
    .description('alerts, newest first, with their delivery to each configured endpoint')
    .option('--shop <id>', 'only this shop')
    .option('--since <time>', 'an ISO time, or a duration back from now: 90s, 15m, 2h, 7d')
    .option('--json', 'one JSON document instead of a table')
    .action(async (opts: { shop?: string; since?: string; json?: boolean }) => {
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      await withDb(readEnv().DATABASE_URL, async (db) => {
        const alerts = await listAlerts(db, { ...(opts.shop ? { shopId: opts.shop } : {}), ...(since ? { since } : {}) });
        if (opts.json) out(JSON.stringify(alerts, null, 2));
        else out(formatAlertTable(alerts));
      });
    });

  program
    .command('replay')
    .description('replay a workflow history against the current code (determinism check)')
    .addOption(new Option('--workflow-id <id>').conflicts('file'))
    .addOption(new Option('--file <history.json>'))
    .action(async (opts: { workflowId?: string; file?: string }) => {
      if (!opts.workflowId && !opts.file) throw Errors.PayloadInvalid('replay needs --workflow-id ID or --file F');
      if (opts.file) {
        out(await replay({ file: opts.file }));
        return;
      }
      out(await withTemporalClient(readEnv(), (client) => replay({ client, workflowId: opts.workflowId! })));
    });

  program
    .command('history')
    .command('export')
    .requiredOption('--workflow-id <id>')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (opts: { workflowId: string; out?: string }) => {
      const json = await withTemporalClient(readEnv(), (client) => exportHistory(client, opts.workflowId, opts.out));
      if (opts.out) out(`history of ${opts.workflowId} written to ${opts.out}`);
      else out(json);
    });

  program
    .command('reservation')
    .command('status')
    .description("an order's reservation: state, lines (claimed, allocated), expiry")
    .argument('<shop>', 'shop id')
    .argument('<order>', 'order id: the number or the gid (gid://shopify/Order/123)')
    .action(async (shop: string, order: string) => {
      const env = readEnv();
      const { reservationStatus } = await import('../../reservation-status.js');
      await withTemporalClient(env, (client) =>
        withDb(env.DATABASE_URL, async (db) => {
          const known = await db.query('SELECT 1 FROM shops WHERE id = $1', [shop]);
          if (known.rowCount === 0) throw Errors.UnknownShop(`shop "${shop}" is not registered (its id is not in the shops table; "inventory-sync migrate" registers the configured shops)`, { shopId: shop });
          const status = await reservationStatus({ temporal: client, db }, shop, order);
          if (!status) {
            err(`no reservation for order ${order} of shop ${shop}`);
            process.exitCode = 4;
          } else out(JSON.stringify(status, null, 2));
        }),
      );
    });
}
