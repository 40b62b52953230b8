import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Errors } from '../domain/errors.js';

const run = promisify(execFile);

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

/** Outside the repository, so every fresh clone on this machine reuses one build. */
export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.INVENTORY_SYNC_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'inventory-sync');
  return join(base, 'bin');
}

/** Whether this file exists and may be run. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The `temporal` CLI on PATH, else in our cache directory, else undefined. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), cacheBinDir(env)];
  return dirs.map((dir) => join(dir, 'temporal')).find(isExecutable);
}

/** Finds the CLI or builds it with `go install` into the cache (several minutes the first time). */
export async function ensureTemporalCli(log: (line: string) => void = () => undefined): Promise<string> {
  const found = findTemporalCli();
  if (found) return found;
  const bin = cacheBinDir();
  try {
    await run('go', ['version']);
  } catch {
    throw Errors.TemporalCliMissing(
      `the Temporal CLI is not on PATH nor in ${bin}, and Go is not installed to build it. ` +
        `Install Go and run "go install ${TEMPORAL_CLI_MODULE}" with GOBIN=${bin}, ` +
        'point TEMPORAL_ADDRESS at a running server, or use "docker compose up".',
    );
  }
  mkdirSync(bin, { recursive: true });
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install into ${bin} (first time only; takes minutes)`);
  const started = Date.now();
  try {
    await run('go', ['install', TEMPORAL_CLI_MODULE], {
      env: { ...process.env, GOBIN: bin, CGO_ENABLED: '0' },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw Errors.TemporalCliMissing(`go install ${TEMPORAL_CLI_MODULE} failed:\n${stderr.slice(-2000)}`, undefined, { cause: err });
  }
  log(`built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s`);
  const built = join(bin, 'temporal');
  if (!isExecutable(built)) throw Errors.TemporalCliMissing(`go install finished but ${built} is not there`);
  return built;
}
