import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { Errors } from '../domain/errors.js';
import { ensureTemporalCli } from './cli-binary.js';
import { SEARCH_ATTRIBUTE_FLAGS } from './search-attributes.js';

export interface DevServerOptions {
  /** Frontend port; 0 picks a free one (tests, benchmarks). Default 7233. */
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** Persist to this SQLite file; in memory when absent (tests). */
  dbFilename?: string;
  namespace?: string;
  /** Server log goes here (appended); discarded when absent. */
  logFile?: string;
  dynamicConfig?: Record<string, unknown>;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

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

/** Answers true when a Temporal frontend at `address` responds within the timeout. */
export async function temporalAnswers(address: string, timeoutMs = 3000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/**
 * Spawns `file args` under a watchdog shell that stops it when this process dies, even by SIGKILL, so no test
 * run or demo leaves a server behind. SIGTERM to the shell stops the program too.
 */
export function spawnSupervised(file: string, args: string[], stdio: ('ignore' | number)[]): ChildProcess {
  const watchdog = [
    '"$@" & server=$!',
    'trap \'kill -TERM $server 2>/dev/null; wait $server; exit 0\' TERM INT',
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 1 & wait $!; done`,
    'kill -TERM $server 2>/dev/null; wait $server',
  ].join('\n');
  return spawn('sh', ['-c', watchdog, 'temporal-watchdog', file, ...args], { stdio, detached: false });
}

/**
 * Starts a dev server. With `port: 0` the ports are free ones, and a server that exits before it answers is started
 * again on new ones, twice at most: the CLI picks its HTTP API port itself, and another process can take a free port
 * between the pick and the bind ("bind: address already in use", seen once in a test run).
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<RunningDevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(opts);
    } catch (err) {
      if (opts.port !== 0 || attempt >= 3 || !(err instanceof Error && err.message.includes('dev server exited'))) throw err;
      opts.log?.(`the Temporal dev server exited before it answered (${err.message}); starting it again on other ports`);
    }
  }
}

async function startDevServerOnce(opts: DevServerOptions): Promise<RunningDevServer> {
  const log = opts.log ?? (() => undefined);
  const cli = await ensureTemporalCli(log);
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 7233);
  const uiPort = opts.uiPort ?? port + 1000;
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (opts.dbFilename) {
    mkdirSync(dirname(opts.dbFilename), { recursive: true });
    args.push('--db-filename', opts.dbFilename);
  }
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const sa of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', sa);
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  let stdio: ('ignore' | number)[] = ['ignore', 'ignore', 'ignore'];
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    const fd = openSync(opts.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const child = spawnSupervised(cli, args, stdio);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  while (!(await temporalAnswers(address, 1000))) {
    if (exited) throw Errors.DependencyUnavailable(`the Temporal dev server ${exited}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw Errors.DependencyUnavailable(`the Temporal dev server did not answer on ${address} in time`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`Temporal dev server on ${address}${opts.headless ? '' : `, Web UI http://127.0.0.1:${uiPort}`}`);
  return {
    address,
    uiUrl: opts.headless ? undefined : `http://127.0.0.1:${uiPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
