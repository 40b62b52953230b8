import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { createMerchantDb, type MerchantDb } from '../support/merchant-db.js';
import { connectTestServices, type TestServices } from '../support/services.js';
import { buildCli, type RunningCli } from './cli.js';

/**
 * docs/onboarding.md, step by step, with no demo code: the CLI as separate processes, the emulator as the shop
 * (set up through its control API, as a merchant would in the Shopify admin), our PostgreSQL, and the ERP's
 * MariaDB database read by a `type: sql` source. Keep the steps in the same order as the document.
 */
describe('onboarding a merchant from docs/onboarding.md', () => {
  let svc: TestServices;
  let cli: Awaited<ReturnType<typeof buildCli>>;
  let emu: RunningEmulator;
  let erp: MerchantDb;
  const running: RunningCli[] = [];
  const shop = `acme-${randomUUID().slice(0, 6)}`;
  const domain = `${shop}-store.myshopify.com`;
  const source = `${shop}-erp`;
  const dir = mkdtempSync(join(tmpdir(), 'isync-onboarding-'));
  let env: Record<string, string>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    svc = await connectTestServices();
    cli = await buildCli();
    // The production worker loads a prebuilt workflow bundle (npm run build writes it); the run has built one.
    copyFileSync(inject('workflowBundlePath'), join(cli.dir, 'src/workers/workflow-bundle.js'));
    emu = await startEmulator({ port: 0, logger: false });
    erp = await createMerchantDb('mysql');
  });
  afterAll(async () => {
    for (const p of running) await p.stop();
    await svc?.temporal.workflow.getHandle(`refresh:${shop}`).terminate('test over').catch(() => undefined);
    cli?.dispose();
    await emu?.close();
    await erp?.drop();
    await svc?.close();
  });

  const emulator = async (path: string, body: unknown) => {
    const res = await fetch(`${emu.url}/_emulator${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, path).toBeLessThan(300);
    return (await res.json()) as Record<string, string>;
  };
  const available = (sku: string) => emu.emulator.getLevel(domain, ids[sku]!, ids.WH1!).available;

  it('the shop exists in Shopify, and the ERP keeps its stock in MariaDB', async () => {
    await emulator('/shops', { domain, accessToken: 'shpat-acme' });
    await emulator(`/shops/${domain}/locations`, { name: 'WH1' });
    await emulator(`/shops/${domain}/products`, { sku: 'TEE-RED-M' });
    await emulator(`/shops/${domain}/products`, { sku: 'MUG' });
    await erp.exec(`CREATE TABLE stock (
      item_code varchar(64) NOT NULL, warehouse varchar(16) NOT NULL, on_hand decimal(12,0) NOT NULL, modified_at datetime(6) NOT NULL,
      PRIMARY KEY (item_code, warehouse), KEY stock_modified (modified_at))`);
    await erp.exec(`INSERT INTO stock VALUES ('TEE-RED-M', 'WH1', 40, UTC_TIMESTAMP(6)), ('MUG', 'WH1', 12, UTC_TIMESTAMP(6))`);
  });

  it('2-3. the configuration and the environment pass config check', async () => {
    const config = join(dir, 'acme.yaml');
    writeFileSync(
      config,
      `inventory_sync:
  safety_buffers: { strategy: static, static_units: 2 }
shops:
  - id: ${shop}
    domain: ${domain}
    plan: standard
    access_token_env: ACME_SHOPIFY_TOKEN
    webhook_secret_env: ACME_WEBHOOK_SECRET
sources:
  - name: ${source}
    role: erp
    type: sql
    dialect: mariadb
    connection_env: ACME_ERP_DATABASE_URL
    shop: ${shop}
    query: >-
      SELECT item_code AS sku, warehouse AS location, on_hand AS quantity, modified_at AS updated_at FROM stock
    lookback_seconds: 300
    interval_minutes: 5
operator:
  token_env: ACME_OPERATOR_TOKEN
`,
    );
    env = {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: `${svc.redisPrefix}onboarding:`,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `${svc.taskQueue}-onboarding`,
      INVENTORY_SYNC_CONFIG: config,
      SHOPIFY_API_BASE_URL: emu.url,
      ACME_SHOPIFY_TOKEN: 'shpat-acme',
      ACME_ERP_DATABASE_URL: erp.url.replace(/^mysql:/, 'mariadb:'),
      ACME_OPERATOR_TOKEN: 'op-acme-0123456789abcdef',
    };
    const missing = await cli.run(['config', 'check'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('shops.0.webhook_secret_env: environment variable ACME_WEBHOOK_SECRET is not set');
    env.ACME_WEBHOOK_SECRET = 'whsec-acme';
    const ok = await cli.run(['config', 'check'], env);
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringContaining('valid (1 shop(s), 1 source(s))') });
  });

  it('4. migrate registers the shop from the configuration', async () => {
    const res = await cli.run(['migrate'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`shops: 1 configured, 1 added (${shop}), 0 updated`);
  });

  it('5. the Shopify ids found with the documented query become mappings, checked in Shopify on import', async () => {
    const res = await fetch(`${emu.url}/admin/api/2026-10/graphql.json`, {
      method: 'POST',
      headers: { 'X-Shopify-Access-Token': 'shpat-acme', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ locations(first: 50) { nodes { id name } } productVariants(first: 250, query: "sku:TEE-RED-M OR sku:MUG") { nodes { sku inventoryItem { id } } } }' }),
    });
    const { data } = (await res.json()) as { data: { locations: { nodes: { id: string; name: string }[] }; productVariants: { nodes: { sku: string; inventoryItem: { id: string } }[] } } };
    ids.WH1 = data.locations.nodes.find((l) => l.name === 'WH1')!.id;
    for (const v of data.productVariants.nodes) ids[v.sku] = v.inventoryItem.id;
    const csv = join(dir, 'mappings.csv');
    writeFileSync(csv, ['shop_id,sku,location_id,inventory_item_id,shopify_location_id', ...['TEE-RED-M', 'MUG'].map((sku) => `${shop},${sku},WH1,${ids[sku]},${ids.WH1}`)].join('\n'));
    const imported = await cli.run(['mappings', 'import', csv], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('imported 2 mapping(s) (checked in Shopify)');
  });

  it('6. the worker and the server start', async () => {
    const worker = cli.start(['worker'], env);
    running.push(worker);
    await worker.printed('worker polling task queue', 60_000);
    const server = cli.start(['server'], { ...env, HOST: '127.0.0.1', PORT: '0' });
    running.push(server);
    await server.printed('HTTP server listening on http://127.0.0.1:', 60_000);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())![1]!;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // The reads take the operator's token, and nobody else's.
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${env.ACME_OPERATOR_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
  });

  it('7. a sync of the ERP makes the first writes: Shopify available = on hand - buffer, audited', async () => {
    expect([available('TEE-RED-M'), available('MUG')]).toEqual([0, 0]);
    const sync = await cli.run(['sync', '--source', source], env);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toContain(`${source} (delta):`);
    expect(sync.stdout).toContain('2 key(s) handed to refresh');
    await expect.poll(() => [available('TEE-RED-M'), available('MUG')], { timeout: 30_000 }).toEqual([38, 10]);
    // The audit rows are written once Shopify's answer is back: Shopify can show the values a moment before.
    const audited = async () => (await svc.db.query(`SELECT sku, ats, outcome FROM audit_log WHERE shop_id = $1 AND trigger = $2 ORDER BY sku`, [shop, `delta_sync:${source}`])).rows;
    await expect.poll(audited, { timeout: 30_000 }).toEqual([
      { sku: 'MUG', ats: 10, outcome: 'applied' },
      { sku: 'TEE-RED-M', ats: 38, outcome: 'applied' },
    ]);

    // The ERP sells 5 tees: the next sync hands on that one key only.
    await erp.exec(`UPDATE stock SET on_hand = 35, modified_at = UTC_TIMESTAMP(6) WHERE item_code = 'TEE-RED-M'`);
    const next = await cli.run(['sync', '--source', source], env);
    expect(next.stdout).toContain('1 key(s) handed to refresh');
    await expect.poll(() => available('TEE-RED-M'), { timeout: 30_000 }).toBe(33);
    expect(available('MUG')).toBe(10);
  });

  it('8. explain --json prints one JSON document on stdout, its log lines on stderr, even while Shopify is unreachable', async () => {
    const res = await cli.run(['explain', shop, 'TEE-RED-M', 'WH1', '--json'], { ...env, SHOPIFY_API_BASE_URL: 'http://127.0.0.1:1', LOG_LEVEL: 'info' });
    expect(res.code, res.stderr).toBe(0);
    const [explained] = (JSON.parse(res.stdout) as { locations: { ats: number; shopify: { error?: string } }[] }).locations;
    expect(explained).toMatchObject({ ats: 33, shopify: { error: expect.any(String) } });
    // The Shopify client's retries were logged: on stderr, where no script parses them.
    expect(res.stderr).toContain('"level":');
  });
});
