import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configCheck } from '../../src/starters/cli/config-check.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function check(text: string, env?: NodeJS.ProcessEnv) {
  const dir = mkdtempSync(join(tmpdir(), 'isync-config-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, text);
  const out: string[] = [];
  const err: string[] = [];
  // Without an env, the secrets' variables are not checked (this test's environment sets none of them).
  const code = configCheck(file, (s) => out.push(s), (s) => err.push(s), env !== undefined, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('configuration', () => {
  it('accepts the seed template and fills the template defaults', () => {
    const text = readFileSync('config/seed-template.yaml', 'utf8');
    expect(check(text).code).toBe(0);
    const { config } = parseConfig(text);
    expect(config?.inventory_sync.reservations).toEqual({ ttl_hours: 24, auto_release_enabled: true });
    expect(config?.inventory_sync.safety_buffers.strategy).toBe('dynamic');
  });

  it('gives the template defaults for an empty file', () => {
    const { config } = parseConfig('');
    expect(config?.inventory_sync).toMatchObject({
      aggregation: { cache_ttl_seconds: 30, parallel_fetch_timeout_ms: 5000 },
      delta_sync: { interval_minutes: 15, batch_size: 100, deduplication: true },
      reconciliation: { schedule: '0 2 * * *', discrepancy_threshold: 5, alert_on_breach: true },
      safety_buffers: { strategy: 'dynamic', default_percentage: 10 },
    });
  });

  it('accepts the documented complete example', () => {
    expect(check(readFileSync('config/inventory-sync.yaml', 'utf8'))).toMatchObject({ code: 0 });
  });

  it('names every one of three mistakes with its path', () => {
    const result = check(`
inventory_sync:
  delta_sync:
    interval_minutes: -5
  safety_buffers:
    strategy: guesswork
shops:
  - id: demo
    domain: not a domain
    access_token_env: DEMO_TOKEN
    webhook_secret_env: DEMO_SECRET
`);
    expect(result.code).toBe(1);
    expect(result.err).toContain('3 problems');
    expect(result.err).toContain('inventory_sync.delta_sync.interval_minutes: expected a positive number');
    expect(result.err).toContain('inventory_sync.safety_buffers.strategy: expected one of static, dynamic, velocity_based');
    expect(result.err).toContain('shops.0.domain: expected a domain such as demo-store.myshopify.com');
  });

  it('rejects unknown keys, duplicate shops and an http source without a url', () => {
    const { problems } = parseConfig(`
inventory_sync:
  aggregation: { cache_ttl_secs: 3 }
shops:
  - { id: a, domain: a.myshopify.com, access_token_env: A, webhook_secret_env: B }
  - { id: a, domain: b.myshopify.com, access_token_env: A, webhook_secret_env: B }
sources:
  - { name: erp, role: erp, type: http }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'inventory_sync.aggregation', message: 'unknown key "cache_ttl_secs"' },
        { path: 'shops.1', message: 'duplicate shop id "a"' },
        { path: 'sources.0.url', message: 'required for an http source' },
      ]),
    );
  });

  it('config check reports every secret whose environment variable is unset, with its path', () => {
    const text = `
shops:
  - { id: a, domain: a.myshopify.com, access_token_env: A_TOKEN, webhook_secret_env: A_SECRET }
sources:
  - { name: erp, role: erp, type: sql, dialect: mariadb, connection_env: ERP_DB_URL, query: "SELECT 1", shop: a, token_env: ERP_PUSH }
`;
    const missing = check(text, { A_TOKEN: 'x' });
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('3 problems');
    expect(missing.err).toContain('shops.0.webhook_secret_env: environment variable A_SECRET is not set');
    expect(missing.err).toContain('sources.0.token_env: environment variable ERP_PUSH is not set');
    expect(missing.err).toContain('sources.0.connection_env: environment variable ERP_DB_URL is not set');
    expect(check(text, { A_TOKEN: 'x', A_SECRET: 'y', ERP_PUSH: 'z', ERP_DB_URL: 'mysql://root@127.0.0.1/erp' })).toMatchObject({ code: 0 });
  });

  it('config check warns of an alert kind the service never raises (a typo would silence an endpoint) and of no shops', () => {
    const typo = check(`
inventory_sync:
  alerts:
    endpoints:
      - { name: ops, url: "https://alerts.example.com/x", kinds: [drift, drfit] }
shops:
  - { id: a, domain: a.myshopify.com, access_token_env: A_TOKEN, webhook_secret_env: A_SECRET }
`);
    expect(typo.code).toBe(0);
    expect(typo.err).toContain('warning: inventory_sync.alerts.endpoints.0.kinds: "drfit": no alert of that kind is ever raised');
    expect(typo.err).not.toContain('"drift"');
    expect(check('{}').err).toContain('warning: shops: no shops: nothing will be synced');
  });

  it('config check refuses two callers whose tokens have the same value, naming both variables', () => {
    const text = `
shops:
  - { id: a, domain: a.myshopify.com, access_token_env: A_TOKEN, webhook_secret_env: A_SECRET }
sources:
  - { name: erp, role: erp, type: postgres, token_env: ERP_T }
channels:
  - { name: oms, token_env: OMS_T }
operator: { token_env: OP_T }
`;
    const base = { A_TOKEN: 'x', A_SECRET: 'y' };
    const same = check(text, { ...base, ERP_T: 'same', OMS_T: 'other', OP_T: 'same' });
    expect(same.code).toBe(1);
    expect(same.err).toContain('operator.token_env: OP_T holds the same token as ERP_T (sources.0.token_env)');
    expect(check(text, { ...base, ERP_T: 'one', OMS_T: 'two', OP_T: 'three' })).toMatchObject({ code: 0 });
  });

  it('an http source without a url, and a sql source without its fields, are named even beside other mistakes', () => {
    const { problems } = parseConfig(`
inventory_sync:
  delta_sync: { interval_minutes: -1 }
sources:
  - { name: erp, role: bogus, type: http }
  - { name: wms, role: wms, type: sql, shop: nowhere }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'sources.0.role', message: 'expected one of erp, wms, pos' },
        { path: 'sources.0.url', message: 'required for an http source' },
        { path: 'sources.1.dialect', message: 'required for a sql source (postgres or mysql)' },
        { path: 'sources.1.connection_env', message: 'required for a sql source' },
        { path: 'sources.1.query', message: 'required for a sql source' },
      ]),
    );
  });

  it('worker capacity: defaults measured for 2 cores, and pollers cannot exceed task slots', () => {
    expect(parseConfig('{}').config?.inventory_sync.worker).toEqual({
      max_concurrent_workflow_tasks: 100,
      workflow_task_pollers: 20,
      workflow_threads: 2,
      max_concurrent_activities: 100,
      max_concurrent_local_activities: 100,
    });
    const { problems } = parseConfig(`
inventory_sync:
  worker: { max_concurrent_workflow_tasks: 10, workflow_task_pollers: 12, workflow_threads: 0 }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'inventory_sync.worker.workflow_threads', message: 'expected a positive number' },
      ]),
    );
    expect(parseConfig(`
inventory_sync:
  worker: { max_concurrent_workflow_tasks: 10, workflow_task_pollers: 12 }
`).problems).toEqual([{ path: 'inventory_sync.worker.workflow_task_pollers', message: 'cannot exceed max_concurrent_workflow_tasks' }]);
  });

  it('reports YAML syntax errors with a line', () => {
    const { problems } = parseConfig('inventory_sync:\n  aggregation: [unclosed\n');
    expect(problems[0]?.path).toMatch(/^line \d+/);
  });
});
