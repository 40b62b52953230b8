import { ALERT_KINDS } from '../domain/alert-kinds.js';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { Errors } from '../domain/errors.js';
import { configSchema, type Config } from './schema.js';

export interface ConfigProblem {
  path: string;
  message: string;
}

/** Parses and validates a configuration text; returns every problem rather than the first. */
export function parseConfig(text: string): { config?: Config; problems: ConfigProblem[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    return { problems: doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: e.message.split('\n')[0] ?? e.message })) };
  }
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return { config: result.data, problems: [] };
  return { problems: result.error.issues.map(toProblem) };
}

function toProblem(issue: z.core.$ZodIssue): ConfigProblem {
  const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return { path, message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
  }
  return { path, message: issue.message };
}

/**
 * What is valid but weakens security: printed by `config check`, which still exits 0.
 * A webhook secret shared by shops lets a delivery signed for one pass as another's (one Shopify app installed
 * in several shops does share it: then the warning is expected).
 */
export function configWarnings(config: Config): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  const firstUse = new Map<string, string>();
  config.shops.forEach((shop, i) => {
    const other = firstUse.get(shop.webhook_secret_env);
    if (other) {
      warnings.push({ path: `shops.${i}.webhook_secret_env`, message: `${shop.webhook_secret_env} is also the webhook secret of shop "${other}": a delivery signed for one shop is accepted as the other's` });
    } else firstUse.set(shop.webhook_secret_env, shop.id);
  });
  if (config.channels.length === 0) {
    warnings.push({ path: 'channels', message: 'no channels: POST /orders answers 401 to everyone (source tokens no longer place orders; give each order channel its own entry)' });
  }
  if (!config.operator && config.inventory_sync.http.admin_port === undefined) {
    warnings.push({ path: 'operator', message: 'no operator token and no inventory_sync.http.admin_port: GET /reservations, /metrics, /ats, /explain and the console answer 401 to everyone' });
  }
  if (config.shops.length === 0) warnings.push({ path: 'shops', message: 'no shops: nothing will be synced' });
  config.inventory_sync.alerts.endpoints.forEach((e, i) => {
    const unknown = (e.kinds ?? []).filter((k) => !(ALERT_KINDS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      warnings.push({ path: `inventory_sync.alerts.endpoints.${i}.kinds`, message: `${unknown.map((k) => `"${k}"`).join(', ')}: no alert of that kind is ever raised, so this endpoint never receives it (the kinds: ${ALERT_KINDS.join(', ')})` });
    }
  });
  return warnings;
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}

/** Configurations loaded without a file: they hold no shops and no sources, which a message should say why. */
const withoutFile = new WeakSet<Config>();

/** For an error about an unknown shop or source: a hint when no configuration file was loaded at all. */
export function noConfigHint(config: Config): string {
  return withoutFile.has(config) ? ' (no configuration was loaded: INVENTORY_SYNC_CONFIG is not set)' : '';
}

/**
 * Loads the file named by INVENTORY_SYNC_CONFIG (or the given path); with neither, the defaults (no shops, no
 * sources), and a warning on stderr, since that is rarely what was meant outside the demo.
 */
export function loadConfig(file: string | undefined = process.env.INVENTORY_SYNC_CONFIG): Config {
  let text = '{}';
  if (!file) process.stderr.write('warning: INVENTORY_SYNC_CONFIG is not set: running with no shops and no sources configured\n');
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      throw Errors.ConfigInvalid(`cannot read the configuration ${file} (INVENTORY_SYNC_CONFIG): ${why}`, { file });
    }
  }
  const { config, problems } = parseConfig(text);
  if (!config) {
    throw Errors.ConfigInvalid(`invalid configuration${file ? ` in ${file}` : ''}:\n${formatProblems(problems)}`, { problems });
  }
  if (!file) withoutFile.add(config);
  return config;
}

/** Resolves a secret named by the config; a missing variable is a configuration error that names it. */
export function secretFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw Errors.ConfigInvalid(`environment variable ${name} is not set (named by the configuration)`);
  return value;
}
