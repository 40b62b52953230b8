import { readFileSync } from 'node:fs';
import { configWarnings, formatProblems, parseConfig } from '../../config/load.js';

/** Exit code 0 when valid; otherwise every problem with its path, one per line. */
export function configCheck(file: string | undefined, out: (s: string) => void, err: (s: string) => void): number {
  const path = file ?? process.env.INVENTORY_SYNC_CONFIG;
  if (!path) {
    err('config check: no file given and INVENTORY_SYNC_CONFIG is not set');
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    err(`config check: cannot read ${path}: ${(e as Error).message}`);
    return 2;
  }
  const { config, problems } = parseConfig(text);
  if (!config) {
    err(`${path}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${formatProblems(problems)}`);
    return 1;
  }
  for (const w of configWarnings(config)) err(`warning: ${w.path}: ${w.message}`);
  out(`${path}: valid (${config.shops.length} shop(s), ${config.sources.length} source(s))`);
  return 0;
}
