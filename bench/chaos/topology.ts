/**
 * The deployed system, one OS process per component, all on ports of its own and state in one temporary
 * directory: a PostgreSQL cluster made by initdb, a redis-server, a Temporal dev server persisting to a SQLite
 * file, the Shopify emulator (`inventory-sync emulator`), two `inventory-sync worker`s and one
 * `inventory-sync server`. Nothing of the machine's own PostgreSQL, Redis or Temporal is touched.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { temporalAnswers } from '../../src/temporal/dev-server.js';
import { findTemporalCli } from '../../src/temporal/cli-binary.js';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../src/temporal/search-attributes.js';
import { startPostgresServer } from '../../src/temporal/postgres-server.js';
import { ensureGoBinary, SERVER_BINARY } from '../../src/temporal/server-binaries.js';
import type { TemporalServerKind } from './options.js';
import { Supervisor, type Supervised } from './supervisor.js';

/** The repository (the launcher compiles this file elsewhere and says where it came from). */
export const ROOT = process.env.CHAOS_ROOT ?? new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin/inventory-sync.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Every secret and token the run uses: distinctive, so the log and history scan finds any leak of them. */
export interface Secrets {
  shopAccessToken: string;
  webhookSecret: string;
  erpToken: string;
  wmsToken: string;
  posToken: string;
  channelToken: string;
  operatorToken: string;
}

export function makeSecrets(seed: number): Secrets {
  const tag = (what: string) => `chaos-${what}-${seed.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  return {
    shopAccessToken: `shpat_${tag('access')}`,
    webhookSecret: tag('whsec'),
    erpToken: tag('erp-token'),
    wmsToken: tag('wms-token'),
    posToken: tag('pos-token'),
    channelToken: tag('channel-token'),
    operatorToken: tag('operator-token'),
  };
}

export interface ShopPlan {
  id: string;
  domain: string;
  plan: 'standard' | 'advanced' | 'plus' | 'enterprise';
}

export const SOURCE_NAMES = { erp: 'erp', wms: 'wms', pos: 'pos' } as const;
export const CHANNEL = 'marketplace';
export const TASK_QUEUE = 'inventory-sync-chaos';

/** The YAML configuration every process reads (INVENTORY_SYNC_CONFIG), as an operator would write it. */
export function writeConfig(file: string, shops: ShopPlan[], opts: { reconcileCron: string; deltaSyncMinutes: number; missedOrderGraceSeconds: number }): void {
  const shopIds = shops.map((s) => s.id);
  const doc = {
    inventory_sync: {
      aggregation: { parallel_fetch_timeout_ms: 5000, coalesce_window_ms: 200 },
      reservations: { ttl_hours: 24, auto_release_enabled: true },
      delta_sync: { interval_minutes: opts.deltaSyncMinutes, batch_size: 250, deduplication: true },
      reconciliation: { schedule: opts.reconcileCron, discrepancy_threshold: 5, alert_on_breach: true, page_size: 250, missed_order_grace_seconds: opts.missedOrderGraceSeconds },
      safety_buffers: { strategy: 'static', static_units: 0 },
      http: { rate_limit: { max_requests: 100_000, window_ms: 60_000 } },
      source_events: { max_clock_skew_seconds: 300 },
      alerts: { endpoints: [] },
    },
    shops: shops.map((s) => ({ id: s.id, domain: s.domain, plan: s.plan, access_token_env: 'CHAOS_SHOP_ACCESS_TOKEN', webhook_secret_env: 'CHAOS_SHOP_WEBHOOK_SECRET' })),
    sources: [
      { name: SOURCE_NAMES.erp, role: 'erp', type: 'postgres', mode: 'delta', token_env: 'CHAOS_ERP_TOKEN', shops: shopIds },
      { name: SOURCE_NAMES.wms, role: 'wms', type: 'postgres', mode: 'delta', token_env: 'CHAOS_WMS_TOKEN', shops: shopIds },
      { name: SOURCE_NAMES.pos, role: 'pos', type: 'postgres', mode: 'delta', token_env: 'CHAOS_POS_TOKEN', shops: shopIds },
    ],
    channels: [{ name: CHANNEL, token_env: 'CHAOS_CHANNEL_TOKEN', shops: shopIds }],
    operator: { token_env: 'CHAOS_OPERATOR_TOKEN' },
  };
  writeFileSync(file, stringify(doc));
}

export interface Topology {
  runDir: string;
  supervisor: Supervisor;
  secrets: Secrets;
  databaseUrl: string;
  adminDatabaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  temporalAddress: string;
  emulatorUrl: string;
  serverUrl: string;
  postgres: Supervised;
  redis: Supervised;
  temporal: Supervised;
  emulator: Supervised;
  server: Supervised;
  workers: [Supervised, Supervised];
  /** Runs an `inventory-sync` command with the application's environment to completion. */
  cli(name: string, args: string[], timeoutMs?: number): Promise<string>;
  appEnv: Record<string, string>;
}

const PG_BIN = (() => {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin/initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
})();

/** PostgreSQL refuses to run as root; the cluster then belongs to the `postgres` user (only its files here). */
function pgUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

async function pgAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startTopology(opts: {
  runDir: string;
  shops: ShopPlan[];
  secrets: Secrets;
  reconcileCron: string;
  deltaSyncMinutes: number;
  /** Reconciliation's grace for young orders, compressed with Shopify's webhook retry schedule. */
  missedOrderGraceSeconds: number;
  temporalServer: TemporalServerKind;
  log: (s: string) => void;
}): Promise<Topology> {
  const { runDir, secrets, log } = opts;
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const supervisor = new Supervisor(logDir);

  // --- PostgreSQL: our own cluster, our own port.
  if (!PG_BIN) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (initdb, postgres)');
  const user = pgUser();
  const pgDir = join(runDir, 'pg');
  mkdirSync(pgDir, { recursive: true });
  if (user) {
    // mkdtemp makes the run directory 0700: the postgres user must be able to reach its data directory.
    chmodSync(runDir, 0o755);
    chownSync(pgDir, user.uid, user.gid);
  }
  try {
    execFileSync(join(PG_BIN, 'initdb'), ['-D', pgDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { stdio: 'pipe', ...(user ?? {}) });
  } catch (e) {
    throw new Error(`initdb failed: ${String((e as { stderr?: Buffer }).stderr ?? e)}`, { cause: e });
  }
  const pgPort = await freePort();
  const adminDatabaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;
  const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/inventory_sync`;
  const postgres = supervisor.add({
    name: 'postgres',
    command: join(PG_BIN, 'postgres'),
    args: ['-D', pgDir, '-p', String(pgPort), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${pgDir}`, '-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'shared_buffers=64MB'],
    ...(user ?? {}),
    ready: () => pgAnswers(adminDatabaseUrl),
  });
  const postgresUp = (async () => {
    await postgres.start();
    const admin = new pg.Client({ connectionString: adminDatabaseUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query('CREATE DATABASE inventory_sync');
    await admin.end();
    log(`postgres on 127.0.0.1:${pgPort} (${pgDir})`);
  })();

  // --- Redis: our own server, our own port, nothing persisted (a restart loses everything, by design).
  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redis = supervisor.add({
    name: 'redis',
    command: 'redis-server',
    args: ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', runDir],
    ready: async (out) => out().includes('Ready to accept connections'),
  });
  const redisUp = redis.start().then(() => log(`redis on ${redisUrl}`));

  // --- Temporal: the dev server persisting to a SQLite file, so a SIGKILL and restart keeps its state; or
  // (--temporal postgres) the server on PostgreSQL as production runs it, its databases in our own cluster.
  let addressOf: () => Promise<string>;
  let temporal: Supervised;
  let temporalUp: Promise<void>;
  if (opts.temporalServer === 'postgres') {
    const serverBinary = await ensureGoBinary(SERVER_BINARY, { log });
    const workDir = join(runDir, 'temporal-postgres');
    let resolveAddress!: (a: string) => void;
    const address = new Promise<string>((r) => (resolveAddress = r));
    const supervised = supervisor.add({
      name: 'temporal',
      command: serverBinary,
      args: ['--root', workDir, '--config', 'config', '--env', 'inventory-sync', '--allow-no-auth', 'start'],
      ready: async () => temporalAnswers(await address, 1000),
      readyTimeoutMs: 90_000,
    });
    temporal = supervised;
    temporalUp = (async () => {
      await postgresUp;
      // Schemas, config (fixed ports), namespace and search attributes, once; then the same server, with the same
      // config, runs under the supervisor, which SIGKILLs and restarts it.
      const setup = await startPostgresServer({ postgresUrl: `postgres://postgres@127.0.0.1:${pgPort}`, database: 'temporal', port: 0, headless: true, workDir, logFile: join(logDir, 'temporal-setup.log'), log });
      await setup.stop();
      resolveAddress(setup.address);
      await supervised.start();
      log(`temporal (server on PostgreSQL, databases temporal and temporal_visibility) on ${setup.address}`);
    })();
    addressOf = async () => {
      await temporalUp;
      return address;
    };
  } else {
    const temporalCli = findTemporalCli();
    if (!temporalCli) throw new Error('the Temporal CLI is not installed: run `node bin/inventory-sync.js temporal install`');
    const temporalPort = await freePort();
    const address = `127.0.0.1:${temporalPort}`;
    addressOf = async () => address;
    const temporalArgs = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(temporalPort), '--headless', '--log-level', 'warn', '--db-filename', join(runDir, 'temporal.db')];
    for (const sa of SEARCH_ATTRIBUTE_FLAGS) temporalArgs.push('--search-attribute', sa);
    temporal = supervisor.add({
      name: 'temporal',
      command: temporalCli,
      args: temporalArgs,
      ready: () => temporalAnswers(address, 1000),
      readyTimeoutMs: 90_000,
    });
    temporalUp = temporal.start().then(() => log(`temporal on ${address}`));
  }

  // --- The Shopify emulator, as `inventory-sync emulator` runs it.
  const emulatorPort = await freePort();
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
  const emulator = supervisor.add({
    name: 'emulator',
    command: process.execPath,
    args: [CLI, 'emulator', '--port', String(emulatorPort), '--plan', 'advanced'],
    ready: async (out) => out().includes('listening on'),
  });
  // The four services start at once; the application needs all of them.
  await Promise.all([postgresUp, redisUp, temporalUp, emulator.start().then(() => log(`emulator on ${emulatorUrl}`))]);
  const temporalAddress = await addressOf();

  const configFile = join(runDir, 'inventory-sync.yaml');
  writeConfig(configFile, opts.shops, { reconcileCron: opts.reconcileCron, deltaSyncMinutes: opts.deltaSyncMinutes, missedOrderGraceSeconds: opts.missedOrderGraceSeconds });
  const serverPort = await freePort();
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  const redisPrefix = 'isync-chaos:';
  const appEnv: Record<string, string> = {
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    INVENTORY_SYNC_CONFIG: configFile,
    SHOPIFY_API_BASE_URL: emulatorUrl,
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
    CHAOS_SHOP_ACCESS_TOKEN: secrets.shopAccessToken,
    CHAOS_SHOP_WEBHOOK_SECRET: secrets.webhookSecret,
    CHAOS_ERP_TOKEN: secrets.erpToken,
    CHAOS_WMS_TOKEN: secrets.wmsToken,
    CHAOS_POS_TOKEN: secrets.posToken,
    CHAOS_CHANNEL_TOKEN: secrets.channelToken,
    CHAOS_OPERATOR_TOKEN: secrets.operatorToken,
  };
  let cliRuns = 0;
  const cli = (name: string, args: string[], timeoutMs?: number) =>
    supervisor.add({ name: `cli-${name}-${++cliRuns}`, command: process.execPath, args: [CLI, ...args], env: appEnv, ready: async () => true, restart: false }).runToEnd(timeoutMs);

  log(await cli('migrate', ['migrate']));

  const server = supervisor.add({
    name: 'server',
    command: process.execPath,
    args: [CLI, 'server'],
    env: { ...appEnv, PORT: String(serverPort), HOST: '127.0.0.1' },
    ready: async (out) => out().includes('HTTP server listening on'),
  });
  const worker = (n: string) =>
    supervisor.add({
      name: `worker-${n}`,
      command: process.execPath,
      args: [CLI, 'worker'],
      env: appEnv,
      ready: async (out) => out().includes('worker polling task queue'),
      readyTimeoutMs: 120_000,
    });
  const workers: [Supervised, Supervised] = [worker('a'), worker('b')];
  await Promise.all([server.start(), workers[0].start(), workers[1].start()]);
  log(`server on ${serverUrl}; two workers polling "${TASK_QUEUE}"`);

  return { runDir, supervisor, secrets, databaseUrl, adminDatabaseUrl, redisUrl, redisPrefix, temporalAddress, emulatorUrl, serverUrl, postgres, redis, temporal, emulator, server, workers, cli, appEnv };
}
