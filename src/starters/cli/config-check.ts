import { readFileSync } from 'node:fs';
import { configWarnings, formatProblems, parseConfig, type ConfigProblem } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { sharedTokens } from '../http/auth.js';

/** Every secret the configuration names whose environment variable is not set here. */
export function unsetSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (path: string, name: string | undefined) => {
    if (name && !env[name]) problems.push({ path, message: `environment variable ${name} is not set` });
  };
  config.shops.forEach((s, i) => {
    check(`shops.${i}.access_token_env`, s.access_token_env);
    check(`shops.${i}.webhook_secret_env`, s.webhook_secret_env);
  });
  config.sources.forEach((s, i) => {
    check(`sources.${i}.token_env`, s.token_env);
    check(`sources.${i}.pull_token_env`, s.pull_token_env);
    check(`sources.${i}.connection_env`, s.connection_env);
  });
  config.channels.forEach((c, i) => check(`channels.${i}.token_env`, c.token_env));
  if (config.operator) check('operator.token_env', config.operator.token_env);
  config.inventory_sync.alerts.endpoints.forEach((e, i) => check(`inventory_sync.alerts.endpoints.${i}.url_env`, e.url_env));
  return problems;
}

/**
 * Exit code 0 when valid; otherwise every problem with its path, one per line. Secrets are checked against this
 * process's environment (run it where the worker and server run), unless `checkEnv` is false.
 */
export function configCheck(file: string | undefined, out: (s: string) => void, err: (s: string) => void, checkEnv = true, env: NodeJS.ProcessEnv = process.env): number {
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
  const parsed = parseConfig(text);
  const config = parsed.config;
  const problems = [...parsed.problems, ...(config && checkEnv ? [...unsetSecrets(config, env), ...sharedTokens(config, env)] : [])];
  if (!config || problems.length > 0) {
    err(`${path}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${formatProblems(problems)}`);
    return 1;
  }
  for (const w of configWarnings(config)) err(`warning: ${w.path}: ${w.message}`);
  out(`${path}: valid (${config.shops.length} shop(s), ${config.sources.length} source(s))`);
  return 0;
}
