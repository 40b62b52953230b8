import { Command, Option } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { readEnv, type Env } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { Errors, InventorySyncError } from '../../domain/errors.js';
import { registerShops } from '../../db/shops.js';
import { createShopifyClients } from '../../runtime/shopify-clients.js';
import { ensureTemporalCli } from '../../temporal/cli-binary.js';
import { startDevServer } from '../../temporal/dev-server.js';
import { assertDatabaseAnswers, createAppContext, connectTemporalClient, temporalAddress } from '../../runtime/context.js';
import { createInventoryWorker } from '../../workers/worker.js';
import { installWorkerRuntime } from '../../workers/telemetry.js';
import { startWorkerSideServices, type WorkerSideServices } from '../../workers/side-services.js';
import { resolveAlertEndpoints } from '../../alerts/endpoints.js';
import { startHttpServer } from '../http/run.js';
import { configCheck } from './config-check.js';
import { importMappings, readMappingsFile, verifyMappingsInShopify } from './mappings-import.js';
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
  const address = temporalAddress(ctx.env);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address });
  } catch (e) {
    await side.close();
    await ctx.close();
    throw Errors.DependencyUnavailable(`Temporal does not answer at ${address} (TEMPORAL_ADDRESS): ${(e as Error).message}`, { address }, { cause: e });
  }
  const worker = await createInventoryWorker({ connection, namespace: ctx.env.TEMPORAL_NAMESPACE, taskQueue: ctx.env.TEMPORAL_TASK_QUEUE, activities: ctx.activities, capacity: ctx.config.inventory_sync.worker });
  out(`worker polling task queue "${ctx.env.TEMPORAL_TASK_QUEUE}" on ${address}`);
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
      const { app, url, adminUrl } = await startHttpServer(ctx);
      out(`HTTP server listening on ${url}${adminUrl ? `; reads (/reservations, /metrics) on ${adminUrl}` : ''}`);
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
    .option('--force', 'with --full: hand every reading to refresh, not only the changed ones')
    .action((opts: { source: string; full?: boolean; force?: boolean }) =>
      withTemporal(async (client, env, config) => {
        if (opts.force && !opts.full) throw Errors.PayloadInvalid('--force goes with --full (it re-pushes every reading of a full read)');
        const db = createPool(env.DATABASE_URL, 1);
        try {
          const reporter = progressReporter(`sync ${opts.source}`, out, 'readings');
          const p = await syncWithProgress(client, db, config, env.TEMPORAL_TASK_QUEUE, opts.source, opts.full ?? false, reporter, opts.force ?? false);
          const skipped = p.mode === 'full' && !opts.force ? ' (unchanged readings are not handed on; --force re-pushes every key)' : '';
          out(`${p.source} (${p.mode}): ${p.batches} batch(es), ${p.read} read, ${p.keysMarked} key(s) handed to refresh${skipped}, checkpoint ${p.cursor ?? '-'}`);
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
            out(`${r.shopId}: run ${r.runId}, ${r.checked} key(s) checked, ${r.drifted} drifted, ${r.corrected} corrected, ${r.alerted} alert(s)${r.badLines === undefined ? '' : `, ${r.badLines} bad export line(s), ${r.missing ?? 0} mapping(s) Shopify no longer lists (reconciliation_problems)`}`);
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
      if (!opts.workflowId && !opts.file) throw Errors.PayloadInvalid('replay needs --workflow-id ID or --file F');
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
    .argument('<order>', 'order id: the number or the gid (gid://shopify/Order/123)')
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
    .option('--no-verify', "do not check the locations and inventory items in Shopify (offline import)")
    .action(async (file: string, opts: { verify: boolean }) => {
      const rows = readMappingsFile(file);
      const env = readEnv();
      const config = loadConfig(env.INVENTORY_SYNC_CONFIG);
      if (opts.verify) {
        const shopify = createShopifyClients(config, env.SHOPIFY_API_BASE_URL ? { baseUrl: env.SHOPIFY_API_BASE_URL } : {});
        await verifyMappingsInShopify(rows, shopify);
      }
      const db = createPool(env.DATABASE_URL, 1);
      try {
        await assertDatabaseAnswers(db, env.DATABASE_URL);
        await registerShops(db, config.shops);
        out(`imported ${await importMappings(db, rows)} mapping(s)${opts.verify ? ' (checked in Shopify)' : ''}`);
      } finally {
        await db.end();
      }
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
    .command('emulator')
    .description('run the Shopify Admin API emulator')
    .option('--port <port>', 'port to listen on', '8090')
    .option('--host <host>', 'interface to bind (0.0.0.0 inside a container, so other containers reach it)', '127.0.0.1')
    .addOption(new Option('--plan <plan>', 'default plan of new shops').choices(['standard', 'advanced', 'plus', 'enterprise']).default('standard'))
    .action(async (opts: { port: string; host: string; plan: 'standard' | 'advanced' | 'plus' | 'enterprise' }) => {
      const { runEmulatorFromCli } = await import('../../shopify/emulator/cli.js');
      await runEmulatorFromCli({ port: Number(opts.port), host: opts.host, plan: opts.plan });
    });

  program
    .command('migrate')
    .description('apply database migrations (a second run is a no-op)')
    .action(async () => {
      const env = readEnv();
      const config = loadConfig(env.INVENTORY_SYNC_CONFIG);
      const { applied } = await migrate(env.DATABASE_URL);
      out(applied.length === 0 ? 'database is up to date; nothing to apply' : `applied ${applied.length} migration(s): ${applied.join(', ')}`);
      const db = createPool(env.DATABASE_URL, 1);
      try {
        const shops = await registerShops(db, config.shops);
        out(`shops: ${config.shops.length} configured, ${shops.added.length} added${shops.added.length ? ` (${shops.added.join(', ')})` : ''}, ${shops.updated.length} updated${shops.updated.length ? ` (${shops.updated.join(', ')})` : ''}`);
      } finally {
        await db.end();
      }
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

/**
 * What an operator sees of a failure: the catalogue code and a message. The stack only with LOG_LEVEL=debug
 * (or trace). Errors from outside the catalogue are named ISYNC_INTERNAL with their message.
 */
export function describeCliError(e: unknown, logLevel = process.env.LOG_LEVEL): string {
  const debug = logLevel === 'debug' || logLevel === 'trace';
  const known = e instanceof InventorySyncError ? e : undefined;
  const line = known ? `${known.code}: ${known.message}` : `ISYNC_INTERNAL: ${e instanceof Error ? e.message : String(e)}`;
  if (!debug || !(e instanceof Error)) return line;
  const cause = e.cause instanceof Error ? `\ncaused by: ${e.cause.stack ?? e.cause.message}` : '';
  return `${line}\n${e.stack ?? ''}${cause}`;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    err(describeCliError(e));
    process.exitCode = 1;
    // A failed start may leave sockets open (a pool, a half-made connection): exit rather than hang, so a
    // supervisor sees the failure. Pipes and files are written synchronously, so nothing printed is lost.
    setTimeout(() => process.exit(1), 500).unref();
  }
}
