import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { Errors } from '../domain/errors.js';
import { cacheBinDir } from './cli-binary.js';
import { freePort, spawnSupervised, temporalAnswers } from './dev-server.js';
import { SEARCH_ATTRIBUTE_FLAGS } from './search-attributes.js';
import { ensureGoBinary, goModuleDir, SERVER_BINARY, SQL_TOOL_BINARY, TEMPORAL_SERVER_VERSION, UI_SERVER_BINARY } from './server-binaries.js';

const run = promisify(execFile);

/** Not `temporal`: a name nobody else on a shared PostgreSQL cluster is likely to hold. */
export const DEFAULT_TEMPORAL_DATABASE = 'inventory_sync_temporal';

export interface PostgresServerOptions {
  /** The PostgreSQL cluster: `postgres://user[:password]@host:port` (a database in the path is ignored). */
  postgresUrl: string;
  /** Temporal's persistence database; visibility goes to `<name>_visibility`. */
  database?: string;
  /** Frontend port; 0 picks a free one (tests, benchmarks). Default 7233. */
  port?: number;
  /** The Web UI's port (default frontend + 1000); with `headless` no UI is started. */
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  /** Config, dynamic config and the UI's config are written here; default: the cache, per port. */
  workDir?: string;
  /** Server (and UI) log goes here (appended); discarded when absent. */
  logFile?: string;
  dynamicConfig?: Record<string, unknown>;
  /** History shards: fixed for the life of the database (default 4, as the module's sample config). */
  numHistoryShards?: number;
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface RunningPostgresServer {
  address: string;
  uiUrl: string | undefined;
  databases: { persistence: string; visibility: string };
  process: ChildProcess;
  stop(): Promise<void>;
}

interface PgEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

function endpointOf(postgresUrl: string): PgEndpoint {
  let url: URL;
  try {
    url = new URL(postgresUrl);
  } catch {
    throw Errors.ArgumentInvalid(`--postgres-url "${postgresUrl}" is not a URL; expected postgres://user[:password]@host:port`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw Errors.ArgumentInvalid(`--postgres-url must start with postgres://, not ${url.protocol}//`);
  }
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 5432), user: decodeURIComponent(url.username || 'postgres'), password: decodeURIComponent(url.password) };
}

function checkDatabaseName(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,50}$/.test(name)) {
    throw Errors.ArgumentInvalid(`--database "${name}": use lower-case letters, digits and _ (at most 51), starting with a letter`);
  }
}

function adminClient(at: PgEndpoint, database = 'postgres'): pg.Client {
  return new pg.Client({ host: at.host, port: at.port, user: at.user, password: at.password, database, connectionTimeoutMillis: 5000 });
}

/** Fails with ISYNC_DEPENDENCY_UNAVAILABLE naming host, port and user (never the password) when nothing answers. */
export async function assertPostgresReachable(postgresUrl: string): Promise<void> {
  const at = endpointOf(postgresUrl);
  const client = adminClient(at);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw Errors.DependencyUnavailable(
      `PostgreSQL is not reachable at ${at.host}:${at.port} as user "${at.user}" (${(err as Error).message}). ` +
        'Start PostgreSQL, or pass --postgres-url postgres://USER:PASSWORD@HOST:PORT of a server that runs.',
      { host: at.host, port: at.port },
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createDatabaseIfMissing(at: PgEndpoint, name: string): Promise<void> {
  const client = adminClient(at);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    throw Errors.TemporalSchemaFailed(
      `cannot create the database "${name}" on ${at.host}:${at.port} as "${at.user}" (${(err as Error).message}); ` +
        'give that user CREATEDB, or create the database yourself and run this again',
      { database: name },
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the database when missing and brings its schema to the latest version with Temporal's own schema
 * tool (both steps are no-ops on an up-to-date database). The schemas are embedded in the tool.
 */
export async function applyTemporalSchema(opts: { postgresUrl: string; database: string; schema: 'temporal' | 'visibility'; env?: NodeJS.ProcessEnv; log?: (l: string) => void }): Promise<void> {
  const at = endpointOf(opts.postgresUrl);
  checkDatabaseName(opts.database);
  const tool = await ensureGoBinary(SQL_TOOL_BINARY, { ...(opts.env ? { env: opts.env } : {}), ...(opts.log ? { log: opts.log } : {}) });
  await createDatabaseIfMissing(at, opts.database);
  const common = ['--plugin', 'postgres12', '--endpoint', at.host, '--port', String(at.port), '--user', at.user, '--database', opts.database];
  // The password goes through the environment, not argv (argv shows in `ps`).
  const env = { ...(opts.env ?? process.env), SQL_PASSWORD: at.password };
  const steps = [
    ['setup-schema', '--version', '0.0'],
    ['update-schema', '--schema-name', `postgresql/v12/${opts.schema}`],
  ];
  for (const step of steps) {
    try {
      await run(tool, [...common, ...step], { env, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const output = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
      // The tool logs in colour, one line per step, the cause as "error": "..." in its ERROR lines.
      const causes = output
        .split('\n')
        .filter((l) => /ERROR|FATAL/.test(l))
        .map((l) => /"error": "((?:[^"\\]|\\.)*)"/.exec(l)?.[1] ?? l.replace(ANSI_COLOUR, '').trim())
        .slice(-3);
      throw Errors.TemporalSchemaFailed(
        `the ${opts.schema} schema cannot be applied to the database "${opts.database}" on ${at.host}:${at.port} as "${at.user}" (${step[0]} failed: ${causes.join('; ') || output.slice(-500)}). ` +
          `A user without rights there needs them (ALTER DATABASE ${opts.database} OWNER TO ${at.user}); if that database holds something else, ` +
          'pick another name with --database; a broken Temporal database you do not need can be dropped.',
        { database: opts.database, step: step[0] },
        { cause: err },
      );
    }
  }
}

// The tool logs in colour even to a pipe.
// eslint-disable-next-line no-control-regex
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

/** Temporal's dynamic config file format: each key a list of { value, constraints }. */
function dynamicConfigYaml(values: Record<string, unknown>): string {
  return stringify(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [{ value: v, constraints: {} }]])));
}

interface Ports {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
  pprof: number;
}

/**
 * The server's configuration: the module's `config/development-postgres12.yaml` with our databases, user and
 * password, a port of our own for every listener (so a second server, or a test run, never collides) and our
 * dynamic config file. Archival stays as the sample has it: available, off for every namespace by default.
 */
export function serverConfig(sample: Record<string, unknown>, o: { at: PgEndpoint; persistence: string; visibility: string; ports: Ports; dynamicConfigFile: string; shards: number }): Record<string, unknown> {
  const c = structuredClone(sample) as {
    log: Record<string, unknown>;
    persistence: { numHistoryShards: number; datastores: Record<string, { sql: Record<string, unknown> }> };
    global: { pprof: { port: number }; metrics: { prometheus: { listenAddress: string } }; membership: Record<string, unknown> };
    services: Record<string, { rpc: Record<string, unknown> }>;
    clusterMetadata: { clusterInformation: Record<string, { rpcAddress: string }> };
    dynamicConfigClient: { filepath: string };
  };
  c.log = { stdout: true, level: 'warn' };
  c.persistence.numHistoryShards = o.shards;
  const stores = Object.entries(c.persistence.datastores);
  for (const [name, store] of stores) {
    Object.assign(store.sql, {
      databaseName: name.includes('visibility') ? o.visibility : o.persistence,
      connectAddr: `${o.at.host}:${o.at.port}`,
      user: o.at.user,
      password: o.at.password,
    });
  }
  c.global.pprof.port = o.ports.pprof;
  c.global.metrics.prometheus.listenAddress = `127.0.0.1:${o.ports.metrics}`;
  const rpc = (svc: string, grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => {
    c.services[svc]!.rpc = { ...c.services[svc]!.rpc, grpcPort, membershipPort, bindOnLocalHost: true, ...extra };
  };
  rpc('frontend', o.ports.frontend, o.ports.frontendMembership, { httpPort: o.ports.frontendHttp });
  rpc('history', o.ports.history, o.ports.historyMembership);
  rpc('matching', o.ports.matching, o.ports.matchingMembership);
  rpc('worker', o.ports.worker, o.ports.workerMembership);
  for (const info of Object.values(c.clusterMetadata.clusterInformation)) info.rpcAddress = `127.0.0.1:${o.ports.frontend}`;
  c.dynamicConfigClient.filepath = o.dynamicConfigFile;
  return c;
}

/** The CLI's defaults for its dev server that our code relies on, plus what a caller passes. */
function dynamicConfigValues(sampleDir: string, extra: Record<string, unknown>): Record<string, unknown> {
  const sample = (parse(readFileSync(join(sampleDir, 'config/dynamicconfig/development-sql.yaml'), 'utf8')) ?? {}) as Record<string, { value: unknown }[]>;
  const values: Record<string, unknown> = Object.fromEntries(
    Object.entries(sample)
      // Nexus callbacks point at the sample's fixed port; we do not use Nexus.
      .filter(([k]) => !k.startsWith('component.nexusoperations') && !k.startsWith('component.callbacks'))
      .map(([k, v]) => [k, v[0]?.value]),
  );
  // A namespace or search attribute registered at start is usable at once, not after the 10 s cache refresh.
  values['system.forceSearchAttributesCacheRefreshOnRead'] = true;
  return { ...values, ...extra };
}

const INDEXED_VALUE_TYPE: Record<string, number> = { Keyword: 2, KeywordList: 7 }; // temporal.api.enums.v1.IndexedValueType

/** Registers the namespace (when missing) and our search attributes, then waits until both are usable. */
export async function registerNamespaceAndSearchAttributes(address: string, namespace: string, deadline: number): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const svc = connection.workflowService;
    try {
      await svc.describeNamespace({ namespace });
    } catch {
      await svc.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') }).catch((err: { code?: number }) => {
        if (err.code !== 6) throw err; // ALREADY_EXISTS: registered concurrently
      });
    }
    const wanted = Object.fromEntries(SEARCH_ATTRIBUTE_FLAGS.map((f) => f.split('=') as [string, string]).map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]!]));
    for (;;) {
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.fromEntries(Object.entries(wanted).filter(([name]) => !(name in (customAttributes ?? {}))));
        if (Object.keys(missing).length === 0) {
          // Usable for queries, not only listed: the frontend's namespace cache has the namespace.
          await svc.countWorkflowExecutions({ namespace, query: `ShopId = 'probe'` });
          return;
        }
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      } catch (err) {
        if (Date.now() > deadline) {
          throw Errors.DependencyUnavailable(`the Temporal server at ${address} did not accept the namespace "${namespace}" and its search attributes in time: ${(err as Error).message}`, undefined, { cause: err });
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await connection.close();
  }
}

/**
 * A free port below 32768: Temporal stores each service's membership port in a smallint column, and the OS hands
 * out ephemeral ports above that.
 */
async function freeMembershipPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw Errors.PortInUse('no free port between 20000 and 32000 for the Temporal server\'s membership');
}

/** The server's last fatal or error line, for the message when it exits at start. */
function lastLogError(logFile: string | undefined): string {
  if (!logFile) return '';
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => /"level":"(fatal|error)"|^Unable to/.test(l));
    const last = lines.at(-1);
    if (!last) return `; see ${logFile}`;
    const parsed = last.startsWith('{') ? (JSON.parse(last) as { msg?: string; error?: string }) : { msg: last };
    return `: ${[parsed.msg, parsed.error].filter(Boolean).join(': ').slice(0, 500)} (log: ${logFile})`;
  } catch {
    return `; see ${logFile}`;
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
}

/**
 * A Temporal server on PostgreSQL with SQL visibility, as production runs it (one process, all four services):
 * builds the server and its schema tool when missing, creates and migrates both databases, writes the config,
 * starts the server, registers the namespace and our search attributes, and the Web UI unless headless.
 */
export async function startPostgresServer(opts: PostgresServerOptions): Promise<RunningPostgresServer> {
  const log = opts.log ?? (() => undefined);
  const env = opts.env ?? process.env;
  const at = endpointOf(opts.postgresUrl);
  const persistence = opts.database ?? DEFAULT_TEMPORAL_DATABASE;
  checkDatabaseName(persistence);
  const visibility = `${persistence}_visibility`;
  const namespace = opts.namespace ?? 'default';
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);

  await assertPostgresReachable(opts.postgresUrl);
  const server = await ensureGoBinary(SERVER_BINARY, { env, log });
  const ui = opts.headless ? undefined : await ensureGoBinary(UI_SERVER_BINARY, { env, log });
  await applyTemporalSchema({ postgresUrl: opts.postgresUrl, database: persistence, schema: 'temporal', env, log });
  await applyTemporalSchema({ postgresUrl: opts.postgresUrl, database: visibility, schema: 'visibility', env, log });

  const frontend = opts.port === 0 ? await freePort() : (opts.port ?? 7233);
  const ports: Ports = {
    frontend,
    frontendHttp: await freePort(),
    frontendMembership: await freeMembershipPort(),
    history: await freePort(),
    historyMembership: await freeMembershipPort(),
    matching: await freePort(),
    matchingMembership: await freeMembershipPort(),
    worker: await freePort(),
    workerMembership: await freeMembershipPort(),
    metrics: await freePort(),
    pprof: await freePort(),
  };
  const address = `127.0.0.1:${frontend}`;
  const workDir = opts.workDir ?? join(cacheBinDir(env), '..', 'temporal-postgres', `${persistence}-${frontend}`);
  mkdirSync(join(workDir, 'config'), { recursive: true });
  const moduleDir = await goModuleDir(`go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`, env);
  const sample = parse(readFileSync(join(moduleDir, 'config/development-postgres12.yaml'), 'utf8')) as Record<string, unknown>;
  const dynamicConfigFile = join(workDir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, dynamicConfigYaml(dynamicConfigValues(moduleDir, opts.dynamicConfig ?? {})));
  const config = serverConfig(sample, { at, persistence, visibility, ports, dynamicConfigFile, shards: opts.numHistoryShards ?? 4 });
  // The password is in this file: only the owner reads it.
  writeFileSync(join(workDir, 'config', 'inventory-sync.yaml'), stringify(config), { mode: 0o600 });

  let stdio: ('ignore' | number)[] = ['ignore', 'ignore', 'ignore'];
  if (opts.logFile) {
    const fd = openSync(opts.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const child = spawnSupervised(server, ['--root', workDir, '--config', 'config', '--env', 'inventory-sync', '--allow-no-auth', 'start'], stdio);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  const stopServer = stopper(child);
  try {
    while (!(await temporalAnswers(address, 1000))) {
      if (exited) throw Errors.DependencyUnavailable(`the Temporal server on PostgreSQL ${exited}${lastLogError(opts.logFile)}`);
      if (Date.now() > deadline) throw Errors.DependencyUnavailable(`the Temporal server on PostgreSQL did not answer on ${address} in time${opts.logFile ? `; see ${opts.logFile}` : ''}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await registerNamespaceAndSearchAttributes(address, namespace, deadline);
  } catch (err) {
    await stopServer();
    throw err;
  }

  let uiUrl: string | undefined;
  let stopUi: () => Promise<void> = async () => undefined;
  if (ui) {
    const uiPort = opts.uiPort ?? frontend + 1000;
    mkdirSync(join(workDir, 'ui'), { recursive: true });
    writeFileSync(join(workDir, 'ui', 'inventory-sync.yaml'), stringify({ temporalGrpcAddress: address, host: '127.0.0.1', port: uiPort, enableUi: true, defaultNamespace: namespace, cors: { allowOrigins: [`http://127.0.0.1:${uiPort}`] } }));
    const uiChild = spawnSupervised(ui, ['--root', workDir, '--config', 'ui', '--env', 'inventory-sync', 'start'], stdio);
    stopUi = stopper(uiChild);
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  log(`Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL (${at.host}:${at.port}/${persistence}, visibility ${visibility}) at ${address}${uiUrl ? `, Web UI ${uiUrl}` : ''}`);
  return {
    address,
    uiUrl,
    databases: { persistence, visibility },
    process: child,
    stop: async () => {
      await stopUi();
      await stopServer();
    },
  };
}
