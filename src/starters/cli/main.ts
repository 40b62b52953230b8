import { Command, Option } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { readEnv, type Env } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { InventorySyncError } from '../../domain/errors.js';
import { ensureTemporalCli } from '../../temporal/cli-binary.js';
import { startDevServer } from '../../temporal/dev-server.js';
import { createAppContext, connectTemporalClient } from '../../runtime/context.js';
import { createInventoryWorker } from '../../workers/worker.js';
import { installWorkerRuntime } from '../../workers/telemetry.js';
import { startWorkerSideServices, type WorkerSideServices } from '../../workers/side-services.js';
import { resolveAlertEndpoints } from '../../alerts/endpoints.js';
import { startHttpServer } from '../http/run.js';
import { configCheck } from './config-check.js';
import { importMappings, readMappingsFile } from './mappings-import.js';
import { applySchedules, listSchedules } from '../schedules.js';
import { reconcileWithProgress, syncWithProgress } from './sync-commands.js';
import { progressReporter } from './progress.js';
import { formatAlertTable } from './alerts-list.js';
import { listAlerts, parseSince } from '../../alerts/outbox.js';
import { operatorConfigPath } from '../../config/locate.js';
import { exportHistory, replay } from './replay.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

async function runWorker(): Promise<void> {
  const env = readEnv();
  const config = loadConfig(env.INVENTORY_SYNC_CONFIG);
  // Bad alert endpoints fail here, before anything starts.
  const endpoints = resolveAlertEndpoints(config.inventory_sync.alerts);
  const { temporalMetricsUrl } = await installWorkerRuntime();
  const ctx = await createAppContext({ env, config });
  let side: WorkerSideServices;
  try {
    side = await startWorkerSideServices(ctx, endpoints, temporalMetricsUrl);
  } catch (e) {
    await ctx.close();
    throw e;
  }
  const connection = await NativeConnection.connect({ address: ctx.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const worker = await createInventoryWorker({ connection, namespace: ctx.env.TEMPORAL_NAMESPACE, taskQueue: ctx.env.TEMPORAL_TASK_QUEUE, activities: ctx.activities, capacity: ctx.config.inventory_sync.worker });
  out(`worker polling task queue "${ctx.env.TEMPORAL_TASK_QUEUE}" on ${ctx.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'}`);
  out(`worker metrics on ${side.metrics.url}; alerts to ${endpoints.length ? endpoints.map((e) => `${e.name} (${e.format})`).join(', ') : 'no endpoint (inventory_sync.alerts.endpoints)'}`);
  await worker.run();
  await side.close();
  await connection.close();
  await ctx.close();
}

/** INVENTORY_SYNC_CONFIG, or the configuration a running `npm start` wrote into the data directory. */
function operatorConfig(env: Env): Config {
  const { path, fromDemo } = operatorConfigPath(env);
  if (fromDemo) err(`using the configuration npm start wrote: ${path} (set INVENTORY_SYNC_CONFIG to use another)`);
  return loadConfig(path);
}

/** Runs a command that talks to Temporal with the environment's client and configuration. */
async function withTemporal(work: (client: Client, env: Env, config: Config) => Promise<void>): Promise<void> {
  const env = readEnv();
  const config = operatorConfig(env);
  const client = await connectTemporalClient(env);
  try {
    await work(client, env, config);
  } finally {
    await client.connection.close();
  }
}

export function buildCli(): Command {
  const program = new Command('inventory-sync')
    .description('Keeps Shopify sellable stock equal to the truth across ERP, WMS and POS, on Temporal.')
    .showHelpAfterError();

  program.command('worker').description('run a Temporal worker (workflows and activities)').action(runWorker);

  program
    .command('server')
    .description('run the HTTP server (webhooks, source events, WMS allocations, orders)')
    .action(async () => {
      const ctx = await createAppContext();
      const { app, url } = await startHttpServer(ctx);
      out(`HTTP server listening on ${url}`);
      const stop = () => void app.close().then(() => ctx.close());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  const schedules = program.command('schedules').description('Temporal Schedules for delta sync and reconciliation');
  schedules
    .command('apply')
    .description('create or update one delta-sync schedule per source and one reconciliation schedule per shop')
    .action(() =>
      withTemporal(async (client, env, config) => {
        for (const r of await applySchedules(client, config, env.TEMPORAL_TASK_QUEUE)) out(`${r.outcome.padEnd(8)} ${r.scheduleId.padEnd(32)} ${r.describe}`);
      }),
    );
  schedules.command('list').action(() =>
    withTemporal(async (client) => {
      for (const s of await listSchedules(client)) {
        out(`${s.scheduleId.padEnd(32)} ${(s.workflowType ?? '').padEnd(20)} ${s.paused ? 'paused ' : 'active '} next ${s.nextRun?.toISOString() ?? '-'}`);
      }
    }),
  );

  program
    .command('sync')
    .description("run a source's sync now and wait for it")
    .requiredOption('--source <name>', 'source to sync')
    .option('--full', 'full refresh instead of the change feed')
    .action((opts: { source: string; full?: boolean }) =>
      withTemporal(async (client, env, config) => {
        const db = createPool(env.DATABASE_URL, 1);
        try {
          const reporter = progressReporter(`sync ${opts.source}`, out, 'readings');
          const p = await syncWithProgress(client, db, config, env.TEMPORAL_TASK_QUEUE, opts.source, opts.full ?? false, reporter);
          out(`${p.source} (${p.mode}): ${p.batches} batch(es), ${p.read} read, ${p.keysMarked} key(s) handed to refresh, checkpoint ${p.cursor ?? '-'}`);
        } finally {
          await db.end();
        }
      }),
    );

  program
    .command('reconcile')
    .description('reconcile a shop (or all) now and wait for the report')
    .option('--shop <id>')
    .action((opts: { shop?: string }) =>
      withTemporal(async (client, env, config) => {
        const db = createPool(env.DATABASE_URL, 1);
        try {
          const results = await reconcileWithProgress(client, db, config, env.TEMPORAL_TASK_QUEUE, opts.shop, (shop) => progressReporter(`reconcile ${shop}`, out, 'keys'));
          for (const r of results) {
            out(`${r.shopId}: run ${r.runId}, ${r.checked} key(s) checked, ${r.drifted} drifted, ${r.corrected} corrected, ${r.alerted} alert(s)`);
          }
        } finally {
          await db.end();
        }
      }),
    );

  program
    .command('alerts')
    .command('list')
    .description('alerts, newest first, with their delivery to each configured endpoint')
    .option('--shop <id>', 'only this shop')
    .option('--since <time>', 'an ISO time, or a duration back from now: 90s, 15m, 2h, 7d')
    .option('--json', 'one JSON document instead of a table')
    .action(async (opts: { shop?: string; since?: string; json?: boolean }) => {
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      const db = createPool(readEnv().DATABASE_URL, 1);
      try {
        const alerts = await listAlerts(db, { ...(opts.shop ? { shopId: opts.shop } : {}), ...(since ? { since } : {}) });
        if (opts.json) out(JSON.stringify(alerts, null, 2));
        else out(formatAlertTable(alerts));
      } finally {
        await db.end();
      }
    });

  program
    .command('replay')
    .description('replay a workflow history against the current code (determinism check)')
    .addOption(new Option('--workflow-id <id>').conflicts('file'))
    .addOption(new Option('--file <history.json>'))
    .action(async (opts: { workflowId?: string; file?: string }) => {
      if (!opts.workflowId && !opts.file) throw new Error('replay needs --workflow-id ID or --file F');
      if (opts.file) {
        out(await replay({ file: opts.file }));
        return;
      }
      const client = await connectTemporalClient(readEnv());
      try {
        out(await replay({ client, workflowId: opts.workflowId! }));
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('history')
    .command('export')
    .requiredOption('--workflow-id <id>')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (opts: { workflowId: string; out?: string }) => {
      const client = await connectTemporalClient(readEnv());
      try {
        const json = await exportHistory(client, opts.workflowId, opts.out);
        if (opts.out) out(`history of ${opts.workflowId} written to ${opts.out}`);
        else out(json);
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('reservation')
    .command('status')
    .description("an order's reservation: state, lines (claimed, allocated), expiry")
    .argument('<shop>', 'shop id')
    .argument('<order>', 'order id')
    .action(async (shop: string, order: string) => {
      const env = readEnv();
      const { reservationStatus } = await import('../reservation-status.js');
      const client = await connectTemporalClient(env);
      const db = createPool(env.DATABASE_URL, 1);
      try {
        const status = await reservationStatus({ temporal: client, db }, shop, order);
        if (!status) {
          err(`no reservation for order ${order} of shop ${shop}`);
          process.exitCode = 4;
        } else out(JSON.stringify(status, null, 2));
      } finally {
        await db.end();
        await client.connection.close();
      }
    });

  program
    .command('mappings')
    .command('import')
    .argument('<file>', 'CSV with shop_id,sku,location_id,inventory_item_id,shopify_location_id[,variant_id]')
    .action(async (file: string) => {
      const rows = readMappingsFile(file);
      const db = createPool(readEnv().DATABASE_URL, 1);
      try {
        out(`imported ${await importMappings(db, rows)} mapping(s)`);
      } finally {
        await db.end();
      }
    });

  program
    .command('config')
    .command('check')
    .argument('[file]', 'YAML file (default: INVENTORY_SYNC_CONFIG)')
    .action((file?: string) => {
      process.exitCode = configCheck(file, out, err);
    });

  program
    .command('emulator')
    .description('run the Shopify Admin API emulator')
    .option('--port <port>', 'port to listen on', '8090')
    .addOption(new Option('--plan <plan>', 'default plan of new shops').choices(['standard', 'advanced', 'plus', 'enterprise']).default('standard'))
    .action(async (opts: { port: string; plan: 'standard' | 'advanced' | 'plus' | 'enterprise' }) => {
      const { runEmulatorFromCli } = await import('../../shopify/emulator/cli.js');
      await runEmulatorFromCli({ port: Number(opts.port), plan: opts.plan });
    });

  program
    .command('migrate')
    .description('apply database migrations (a second run is a no-op)')
    .action(async () => {
      const { applied } = await migrate(readEnv().DATABASE_URL);
      out(applied.length === 0 ? 'database is up to date; nothing to apply' : `applied ${applied.length} migration(s): ${applied.join(', ')}`);
    });

  program
    .command('demo')
    .description('the embedded default: start what is missing, seed a demo catalog and show the sync working')
    .option('--duration <seconds>', 'stop by itself after this long (default: run until Ctrl-C)')
    .action(async (opts: { duration?: string }) => {
      const { runDemo } = await import('./demo.js');
      await runDemo(opts.duration ? { durationSeconds: Number(opts.duration) } : {});
    });

  const temporal = program.command('temporal').description('the local Temporal dev server');
  temporal
    .command('install')
    .description('find the Temporal CLI, or build it with go install into the cache')
    .action(async () => out(await ensureTemporalCli(out)));
  temporal
    .command('start')
    .option('--port <port>', 'frontend port', '7233')
    .option('--db-filename <file>', 'persist to this SQLite file')
    .action(async (opts: { port: string; dbFilename?: string }) => {
      const server = await startDevServer({ port: Number(opts.port), ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}), log: out });
      const stop = () => void server.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof InventorySyncError) {
      err(`${e.code}: ${e.message}`);
      process.exitCode = 1;
    } else {
      err(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    }
  }
}
