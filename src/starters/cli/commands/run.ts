import type { Command } from 'commander';
import { Option } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { resolveAlertEndpoints } from '../../../alerts/endpoints.js';
import { readEnv } from '../../../config/env.js';
import { loadConfig } from '../../../config/load.js';
import { Errors } from '../../../domain/errors.js';
import { createAppContext, temporalAddress } from '../../../runtime/context.js';
import { ensureTemporalCli } from '../../../temporal/cli-binary.js';
import { startDevServer } from '../../../temporal/dev-server.js';
import { assertNamespaceReady } from '../../../temporal/namespace-check.js';
import { startWorkerSideServices, type WorkerSideServices } from '../../../workers/side-services.js';
import { installWorkerRuntime } from '../../../workers/telemetry.js';
import { createInventoryWorker } from '../../../workers/worker.js';
import { startHttpServer } from '../../http/run.js';
import { out } from './io.js';

async function runWorker(): Promise<void> {
  const env = readEnv();
  const config = loadConfig(env.INVENTORY_SYNC_CONFIG);
  // Bad alert endpoints fail here, before anything starts.
  const endpoints = resolveAlertEndpoints(config.inventory_sync.alerts);
  const { temporalMetricsUrl } = await installWorkerRuntime();
  const ctx = await createAppContext({ env, config });
  let side: WorkerSideServices;
  try {
    await assertNamespaceReady(ctx.temporal, ctx.env.TEMPORAL_NAMESPACE, temporalAddress(ctx.env));
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

/** Stops `stop` on SIGINT or SIGTERM. */
function onSignal(stop: () => void): void {
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The long-running processes: worker, HTTP server, and the local pieces (emulator, demo, Temporal dev server). */
export function registerRunCommands(program: Command): void {
  program.command('worker').description('run a Temporal worker (workflows and activities)').action(runWorker);

  program
    .command('server')
    .description('run the HTTP server (webhooks, source events, WMS allocations, orders)')
    .action(async () => {
      const ctx = await createAppContext();
      const { app, url, adminUrl } = await startHttpServer(ctx);
      out(`HTTP server listening on ${url}${adminUrl ? `; reads (/reservations, /metrics) on ${adminUrl}` : ''}`);
      onSignal(() => void app.close().then(() => ctx.close()));
    });

  program
    .command('emulator')
    .description('run the Shopify Admin API emulator')
    .option('--port <port>', 'port to listen on', '8090')
    .option('--host <host>', 'interface to bind (0.0.0.0 inside a container, so other containers reach it)', '127.0.0.1')
    .addOption(new Option('--plan <plan>', 'default plan of new shops').choices(['standard', 'advanced', 'plus', 'enterprise']).default('standard'))
    .action(async (opts: { port: string; host: string; plan: 'standard' | 'advanced' | 'plus' | 'enterprise' }) => {
      const { runEmulatorFromCli } = await import('../../../shopify/emulator/cli.js');
      await runEmulatorFromCli({ port: Number(opts.port), host: opts.host, plan: opts.plan });
    });

  program
    .command('demo')
    .description('the embedded default: start what is missing, seed a demo catalog and show the sync working')
    .option('--duration <seconds>', 'stop by itself after this long (default: run until Ctrl-C)')
    .action(async (opts: { duration?: string }) => {
      const { runDemo } = await import('../demo.js');
      await runDemo(opts.duration ? { durationSeconds: Number(opts.duration) } : {});
    });

  const temporal = program.command('temporal').description('the local Temporal server: the CLI\'s dev server, or the server on PostgreSQL');
  temporal
    .command('install')
    .description('find the Temporal CLI, or build it with go install into the cache')
    .option('--postgres', 'also build the Temporal server and its SQL schema tool (for --persistence postgres)')
    .option('--ui', 'also build the Web UI server that --persistence postgres serves (unless --headless)')
    .action(async (opts: { postgres?: boolean; ui?: boolean }) => {
      out(await ensureTemporalCli(out));
      const { ensureGoBinary, SERVER_BINARY, SQL_TOOL_BINARY, UI_SERVER_BINARY } = await import('../../../temporal/server-binaries.js');
      const wanted = [...(opts.postgres ? [SERVER_BINARY, SQL_TOOL_BINARY] : []), ...(opts.ui ? [UI_SERVER_BINARY] : [])];
      for (const b of wanted) out(await ensureGoBinary(b, { log: out }));
    });
  temporal
    .command('start')
    .description('run a Temporal server until Ctrl-C: the dev server (SQLite), or the server on PostgreSQL as production runs it')
    .option('--port <port>', 'frontend port', '7233')
    .option('--persistence <store>', 'sqlite (the CLI\'s dev server) or postgres (the Temporal server with PostgreSQL persistence and SQL visibility)', 'sqlite')
    .option('--db-filename <file>', 'sqlite: persist to this SQLite file')
    .option('--postgres-url <url>', 'postgres: the PostgreSQL server, postgres://USER[:PASSWORD]@HOST:PORT (default $TEMPORAL_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432)')
    .option('--database <name>', 'postgres: Temporal\'s database; visibility goes to <name>_visibility (default inventory_sync_temporal)')
    .option('--ui-port <port>', 'Web UI port (default: frontend port + 1000)')
    .option('--headless', 'no Web UI')
    .action(async (opts: { port: string; persistence: string; dbFilename?: string; postgresUrl?: string; database?: string; uiPort?: string; headless?: boolean }) => {
      const port = Number(opts.port);
      const ui = { ...(opts.uiPort ? { uiPort: Number(opts.uiPort) } : {}), ...(opts.headless ? { headless: true } : {}) };
      let server: { stop(): Promise<void> };
      if (opts.persistence === 'postgres') {
        const { startPostgresServer } = await import('../../../temporal/postgres-server.js');
        server = await startPostgresServer({
          postgresUrl: opts.postgresUrl ?? process.env.TEMPORAL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432',
          ...(opts.database ? { database: opts.database } : {}),
          port,
          ...ui,
          log: out,
        });
      } else if (opts.persistence === 'sqlite') {
        server = await startDevServer({ port, ...ui, ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}), log: out });
      } else {
        throw Errors.ArgumentInvalid(`--persistence "${opts.persistence}": use sqlite or postgres`);
      }
      onSignal(() => void server.stop().then(() => process.exit(0)));
    });
}
