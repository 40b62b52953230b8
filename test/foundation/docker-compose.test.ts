import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES } from '../../src/config/env.js';
import { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_SERVER_VERSION } from '../../src/temporal/server-binaries.js';

// No Docker engine runs here; this pins that the file describes the stack and speaks the application's env names.
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; command?: string[]; build?: unknown; image?: string }>;
};

describe('docker-compose.yml', () => {
  it('has Temporal on PostgreSQL, its Web UI, PostgreSQL, Redis, the worker and the server', () => {
    const s = compose.services;
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['temporal', 'temporal-ui', 'postgresql', 'redis', 'worker', 'server']));
    expect(s.temporal?.environment?.DB).toMatch(/^postgres/);
    expect(s.temporal?.environment?.POSTGRES_SEEDS).toBe('postgresql');
    expect(s.worker?.command).toEqual(['worker']);
    expect(s.server?.command).toEqual(['server']);
  });

  it('gives the worker and the server only environment names the application reads, and every one it needs', () => {
    for (const name of ['worker', 'server'] as const) {
      const env = Object.keys(compose.services[name]?.environment ?? {});
      expect(env.filter((k) => !(ENV_NAMES as string[]).includes(k))).toEqual([]);
      expect(env).toEqual(expect.arrayContaining(['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'DATABASE_URL', 'REDIS_URL', 'INVENTORY_SYNC_CONFIG']));
    }
    expect(compose.services.server?.environment?.PORT).toBe('8080');
  });

  it('runs the Temporal server and Web UI versions that `temporal start --persistence postgres` runs and test:topology proves', () => {
    const s = compose.services;
    expect(s.temporal?.image).toBe(`temporalio/auto-setup:${TEMPORAL_SERVER_VERSION.slice(1)}`);
    expect(s['temporal-create-search-attributes']?.image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION.slice(1)}`);
    expect(s['temporal-ui']?.image).toBe(`temporalio/ui:${TEMPORAL_UI_SERVER_VERSION.slice(1)}`);
  });

  it('registers the search attributes the workflows set', () => {
    const cmd = JSON.stringify(compose.services['temporal-create-search-attributes']?.command);
    for (const sa of ['ShopId', 'OrderId', 'Sku', 'ReservationState', 'Source']) expect(cmd).toContain(`--name ${sa}`);
  });

  it('runs Prometheus scraping the worker metrics port, and Grafana with the shipped dashboard', () => {
    const s = compose.services as Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
    expect(s.worker?.environment?.METRICS_PORT).toBe('9464');
    const prometheus = readFileSync('deploy/prometheus/prometheus.yml', 'utf8');
    expect(prometheus).toContain('worker:9464');
    expect(s.prometheus?.volumes?.join()).toContain('./deploy/prometheus/prometheus.yml');
    expect(s.grafana?.volumes?.join()).toContain('./deploy/grafana/dashboards');
    expect(JSON.parse(readFileSync('deploy/grafana/dashboards/inventory-sync.json', 'utf8'))).toMatchObject({ uid: 'inventory-sync' });
  });
});
