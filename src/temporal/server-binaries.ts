import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Errors } from '../domain/errors.js';
import { cacheBinDir, isExecutable } from './cli-binary.js';

const run = promisify(execFile);

/** The server the Temporal CLI v1.5.1 embeds: its modules are in the Go module cache after the CLI build. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
/** The Web UI server the same CLI embeds (its go.mod pins it). */
export const TEMPORAL_UI_SERVER_VERSION = 'v2.42.1';

export interface GoBinary {
  /** File name in the cache: `go install` names every one of these `server` or `sql`, so each gets its own name. */
  name: string;
  module: string;
  /** What `go install` writes into GOBIN. */
  installedAs: string;
  what: string;
}

export const SERVER_BINARY: GoBinary = {
  name: `temporal-server-${TEMPORAL_SERVER_VERSION}`,
  module: `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
  installedAs: 'server',
  what: 'the Temporal server',
};
export const SQL_TOOL_BINARY: GoBinary = {
  name: `temporal-sql-tool-${TEMPORAL_SERVER_VERSION}`,
  module: `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
  installedAs: 'sql',
  what: "the Temporal server's SQL schema tool",
};
export const UI_SERVER_BINARY: GoBinary = {
  name: `temporal-ui-server-${TEMPORAL_UI_SERVER_VERSION}`,
  module: `github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_SERVER_VERSION}`,
  installedAs: 'server',
  what: 'the Temporal Web UI server',
};


/** The cached binary, or undefined when it has not been built. */
export function findGoBinary(b: GoBinary, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = join(cacheBinDir(env), b.name);
  return isExecutable(file) ? file : undefined;
}

/**
 * Finds the binary in the cache or builds it with `go install` (minutes the first time). Fails with
 * ISYNC_TEMPORAL_SERVER_MISSING naming what to install when Go is absent or the build fails.
 */
export async function ensureGoBinary(b: GoBinary, opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const found = findGoBinary(b, env);
  if (found) return found;
  const bin = cacheBinDir(env);
  try {
    await run('go', ['version'], { env });
  } catch {
    throw Errors.TemporalServerMissing(
      `${b.what} is not in ${bin} and Go is not installed (no "go" on PATH) to build it. ` +
        `Install Go 1.24 or newer and run this again (it runs "go install ${b.module}"), ` +
        'or point TEMPORAL_ADDRESS at a Temporal server you run yourself (docker compose up, Temporal Cloud).',
      { binary: b.name },
    );
  }
  mkdirSync(bin, { recursive: true });
  removeAbandonedBuilds(bin, b.name);
  // Each build gets a GOBIN of its own: the server and the UI server are both installed as "server".
  const gobin = mkdtempSync(join(bin, `.build-${b.name}-`));
  opts.log?.(`building ${b.what} ${b.module.split('@')[1]} with go install into ${bin} (first time only; takes minutes)`);
  const started = Date.now();
  try {
    await run('go', ['install', b.module], { env: { ...env, GOBIN: gobin, CGO_ENABLED: '0' }, maxBuffer: 64 * 1024 * 1024 });
    renameSync(join(gobin, b.installedAs), join(bin, b.name));
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? (err as Error).message;
    throw Errors.TemporalServerMissing(`go install ${b.module} failed:\n${stderr.slice(-2000)}`, { binary: b.name }, { cause: err });
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
  opts.log?.(`built ${b.what} in ${Math.round((Date.now() - started) / 1000)} s`);
  return join(bin, b.name);
}

/** A build older than this was abandoned (a build takes minutes): a killed `go install` never ran its clean-up. */
const ABANDONED_BUILD_MS = 6 * 3600_000;

/** Removes the GOBIN directories of builds killed before they could remove their own; a build in progress is younger. */
function removeAbandonedBuilds(bin: string, name: string): void {
  for (const entry of readdirSync(bin)) {
    if (!entry.startsWith(`.build-${name}-`)) continue;
    const dir = join(bin, entry);
    try {
      if (Date.now() - statSync(dir).mtimeMs > ABANDONED_BUILD_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Gone meanwhile (another process cleaned it): nothing to do.
    }
  }
}

/** The directory of a module in the Go module cache (downloaded when missing): where the server's sample configs are. */
export async function goModuleDir(module: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    const { stdout } = await run('go', ['mod', 'download', '-json', module], { env, maxBuffer: 8 * 1024 * 1024 });
    const dir = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!dir) throw new Error(`go mod download printed no directory for ${module}`);
    return dir;
  } catch (err) {
    throw Errors.TemporalServerMissing(
      `cannot read ${module} from the Go module cache (${(err as Error).message.split('\n')[0]}); install Go and check network access to the Go module proxy`,
      undefined,
      { cause: err },
    );
  }
}
