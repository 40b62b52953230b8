import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors } from '../../src/domain/errors.js';
import { buildCli } from '../../src/starters/cli/main.js';
import { parseMappingsCsv } from '../../src/starters/cli/mappings-import.js';
import { importMappings } from '../../src/db/mappings.js';
import { ensureTemporalCli, findTemporalCli } from '../../src/temporal/cli-binary.js';
import { reconcileNow, syncNow } from '../../src/starters/cli/sync-commands.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

const ITEM = 'gid://shopify/InventoryItem/11';
const LOC = 'gid://shopify/Location/7';

describe('CLI', () => {
  let svc: TestServices;
  beforeAll(async () => {
    svc = await connectTestServices();
  });
  afterAll(async () => svc?.close());

  it('sync and reconcile name an unknown source or shop and the ones that exist', async () => {
    const config = testConfig({
      shops: [{ id: 'known-shop', domain: 'known-shop.myshopify.com', access_token_env: 'T', webhook_secret_env: 'S' }],
      sources: [{ name: 'erp', role: 'erp', type: 'postgres' }],
    });
    await expect(syncNow(svc.temporal, config, svc.taskQueue, 'wms', false)).rejects.toThrowError('source "wms" is not in the configuration (known: erp)');
    await expect(reconcileNow(svc.temporal, config, svc.taskQueue, 'other')).rejects.toSatisfy((e: unknown) => Errors.UnknownShop.is(e));
  });

  it('every command the brief names is there', () => {
    const names = (cmd: ReturnType<typeof buildCli>, prefix = ''): string[] =>
      cmd.commands.flatMap((c) => [`${prefix}${c.name()}`, ...names(c as ReturnType<typeof buildCli>, `${prefix}${c.name()} `)]);
    expect(names(buildCli())).toEqual(
      expect.arrayContaining(['worker', 'server', 'schedules apply', 'schedules list', 'sync', 'reconcile', 'replay', 'history export', 'reservation status', 'mappings import', 'config check', 'emulator', 'migrate', 'demo']),
    );
  });

  it('mappings import names every bad line and field, and imports nothing from a bad file', async () => {
    const csv = ['shop_id,sku,location_id,inventory_item_id,shopify_location_id', `s1,A,WH1,${ITEM},${LOC}`, `s1,B,WH1,item-42,${LOC}`, `s1,,WH1,${ITEM},${LOC}`].join('\n');
    expect(() => parseMappingsCsv(csv)).toThrowError(/line 3: inventory_item_id: expected gid:\/\/shopify\/InventoryItem\/<id>[\s\S]*line 4: sku: required/);
  });

  it('mappings import upserts good rows and refuses unknown shops without writing anything', async () => {
    const shop = svc.uid('shop');
    await svc.db.query('INSERT INTO shops (id, domain) VALUES ($1, $2)', [shop, `${shop}.myshopify.com`]);
    const rows = parseMappingsCsv(`shop_id,sku,location_id,inventory_item_id,shopify_location_id,variant_id\n${shop},A,WH1,${ITEM},${LOC},\n${shop},B,WH1,gid://shopify/InventoryItem/12,${LOC},gid://shopify/ProductVariant/3\n`);
    expect(await importMappings(svc.db, rows)).toBe(2);
    const ghost = parseMappingsCsv(`shop_id,sku,location_id,inventory_item_id,shopify_location_id\n${shop},C,WH1,gid://shopify/InventoryItem/13,${LOC}\nno-such-shop,D,WH1,gid://shopify/InventoryItem/14,${LOC}\n`);
    await expect(importMappings(svc.db, ghost)).rejects.toThrowError(/unknown shop id\(s\) in mappings: no-such-shop/);
    const { rows: stored } = await svc.db.query('SELECT sku, variant_id FROM mappings WHERE shop_id = $1 ORDER BY sku', [shop]);
    expect(stored).toEqual([
      { sku: 'A', variant_id: null },
      { sku: 'B', variant_id: 'gid://shopify/ProductVariant/3' },
    ]);
  });

  it('without a temporal binary and without Go, says how to get one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'isync-nopath-'));
    expect(findTemporalCli({ PATH: empty, INVENTORY_SYNC_CACHE_DIR: empty })).toBeUndefined();
    const saved = { PATH: process.env.PATH, cache: process.env.INVENTORY_SYNC_CACHE_DIR };
    process.env.PATH = empty;
    process.env.INVENTORY_SYNC_CACHE_DIR = empty;
    try {
      await expect(ensureTemporalCli()).rejects.toThrowError(/Go is not installed[\s\S]*go install github.com\/temporalio\/cli\/cmd\/temporal@v1.5.1[\s\S]*docker compose up/);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.cache === undefined) delete process.env.INVENTORY_SYNC_CACHE_DIR;
      else process.env.INVENTORY_SYNC_CACHE_DIR = saved.cache;
    }
  });

  it('finds a temporal binary placed in the cache directory', () => {
    const cache = mkdtempSync(join(tmpdir(), 'isync-cache-'));
    mkdirSync(join(cache, 'bin'));
    writeFileSync(join(cache, 'bin', 'temporal'), '#!/bin/sh\n');
    chmodSync(join(cache, 'bin', 'temporal'), 0o755);
    expect(findTemporalCli({ PATH: '', INVENTORY_SYNC_CACHE_DIR: cache })).toBe(join(cache, 'bin', 'temporal'));
  });
});
