import { Command } from 'commander';
import { INTERNAL_ERROR_CODE, InventorySyncError } from '../../domain/errors.js';
import { logToStderr } from '../../observability/logger.js';
import { err } from './commands/io.js';
import { registerExplainCommand } from './commands/explain.js';
import { registerOperationsCommands } from './commands/operations.js';
import { registerRunCommands } from './commands/run.js';
import { registerSetupCommands } from './commands/setup.js';
import { registerSyncCommands } from './commands/sync.js';

/** The commands that run as services (until stopped), whose stdout is their log stream. */
const SERVICES = new Set(['worker', 'server', 'emulator', 'demo', 'temporal']);

function topLevelName(command: Command): string {
  let c = command;
  while (c.parent && c.parent.parent) c = c.parent;
  return c.name();
}

/** The `inventory-sync` command line; each group of commands lives in `commands/`. */
export function buildCli(): Command {
  const program = new Command('inventory-sync')
    .description('Keeps Shopify sellable stock equal to the truth across ERP, WMS and POS, on Temporal.')
    .showHelpAfterError()
    .hook('preAction', (_program, action) => {
      // Services log to stdout, their log stream; every other command's stdout is its answer.
      if (!SERVICES.has(topLevelName(action))) logToStderr();
    });
  registerRunCommands(program);
  registerSyncCommands(program);
  registerOperationsCommands(program);
  registerExplainCommand(program);
  registerSetupCommands(program);
  return program;
}

/**
 * What an operator sees of a failure: the catalogue code and a message. The stack only with LOG_LEVEL=debug
 * (or trace). Errors from outside the catalogue are named ISYNC_INTERNAL with their message.
 */
export function describeCliError(e: unknown, logLevel = process.env.LOG_LEVEL): string {
  const debug = logLevel === 'debug' || logLevel === 'trace';
  const known = e instanceof InventorySyncError ? e : undefined;
  const line = known ? `${known.code}: ${known.message}` : `${INTERNAL_ERROR_CODE}: ${e instanceof Error ? e.message : String(e)}`;
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
