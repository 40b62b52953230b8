import type { AlertsConfig } from '../config/schema.js';
import { Errors } from '../domain/errors.js';

export interface AlertEndpoint {
  name: string;
  format: 'json' | 'slack';
  url: string;
  kinds: string[] | undefined;
}

/**
 * The configured endpoints with their URLs, checked at start: a url_env that is unset or not an http(s) URL is a
 * configuration error naming the variable (never its value: a Slack webhook URL is a secret).
 */
export function resolveAlertEndpoints(alerts: AlertsConfig, env: NodeJS.ProcessEnv = process.env): AlertEndpoint[] {
  return alerts.endpoints.map((e, i) => {
    const where = `inventory_sync.alerts.endpoints.${i}`;
    let url = e.url;
    if (e.url_env !== undefined) {
      url = env[e.url_env];
      if (!url) throw Errors.ConfigInvalid(`${where}.url_env: environment variable ${e.url_env} is not set (alert endpoint "${e.name}")`);
      if (!isHttpUrl(url)) throw Errors.ConfigInvalid(`${where}.url_env: ${e.url_env} is not an http(s) URL (alert endpoint "${e.name}")`);
    }
    if (url === undefined || !isHttpUrl(url)) throw Errors.ConfigInvalid(`${where}.url: expected an http(s) URL (alert endpoint "${e.name}")`);
    return { name: e.name, format: e.format, url, kinds: e.kinds };
  });
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
