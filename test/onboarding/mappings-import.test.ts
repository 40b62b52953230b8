import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerShops } from '../../src/db/shops.js';
import { Errors } from '../../src/domain/errors.js';
import { createShopifyClients } from '../../src/runtime/shopify-clients.js';
import { startEmulator, type RunningEmulator } from '../../src/shopify/emulator/index.js';
import { importMappings } from '../../src/db/mappings.js';
import { parseMappingsCsv, verifyMappingsInShopify } from '../../src/starters/cli/mappings-import.js';
import { connectTestServices, testConfig, type TestServices } from '../support/services.js';

/** Issue 11: shops come from the configuration, and a mapping is checked against the shop's Shopify before it is stored. */
describe('shops from the configuration, and mappings import checked against Shopify', () => {
  let svc: TestServices;
  let emu: RunningEmulator;
  const shopId = `map-${Date.now().toString(36)}`;
  const domain = `${shopId}.myshopify.com`;
  const env = { MAP_TOKEN: 'shpat-map', MAP_SECRET: 'whsec' };
  const config = testConfig({ shops: [{ id: shopId, domain, plan: 'plus', access_token_env: 'MAP_TOKEN', webhook_secret_env: 'MAP_SECRET' }] });
  let wh1: string;
  let late: string;
  let tee: string;
  let mug: string;
  const header = 'shop_id,sku,location_id,inventory_item_id,shopify_location_id';

  beforeAll(async () => {
    svc = await connectTestServices();
    emu = await startEmulator({ port: 0, logger: false });
    emu.emulator.createShop({ domain, accessToken: env.MAP_TOKEN });
    wh1 = emu.emulator.createLocation(domain, { name: 'Main warehouse' }).id;
    tee = emu.emulator.createProduct(domain, { sku: 'TEE' }).inventoryItemId;
    mug = emu.emulator.createProduct(domain, { sku: 'MUG' }).inventoryItemId;
    // Created after the products: nothing is stocked there.
    late = emu.emulator.createLocation(domain, { name: 'Pop-up' }).id;
  });
  afterAll(async () => {
    await emu?.close();
    await svc?.close();
  });

  const shopify = () => createShopifyClients(config, { baseUrl: emu.url, env });
  const problemsOf = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(Errors.MappingInvalid.is(err), String(err)).toBe(true);
    return (err as Error).message;
  };

  it('registers the configured shops, and updates a changed plan or domain; a second run changes nothing', async () => {
    expect(await registerShops(svc.db, config.shops)).toEqual({ added: [shopId], updated: [] });
    expect(await registerShops(svc.db, config.shops)).toEqual({ added: [], updated: [] });
    const moved = testConfig({ shops: [{ ...config.shops[0]!, plan: 'enterprise' }] }).shops;
    expect(await registerShops(svc.db, moved)).toEqual({ added: [], updated: [shopId] });
    const { rows } = await svc.db.query('SELECT domain, plan FROM shops WHERE id = $1', [shopId]);
    expect(rows).toEqual([{ domain, plan: 'enterprise' }]);
    // So a configured shop's mappings import without any hand-written SQL.
    const csv = `${header}\n${shopId},TEE,WH1,${tee},${wh1}\n`;
    expect(await importMappings(svc.db, parseMappingsCsv(csv))).toBe(1);
  });

  it('refuses a location or an inventory item the shop does not have, or an item not stocked there, naming line and field', async () => {
    const csv = [
      header,
      `${shopId},TEE,WH1,${tee},${wh1}`,
      `${shopId},MUG,WH9,${mug},gid://shopify/Location/999999`,
      `${shopId},GHOST,WH1,gid://shopify/InventoryItem/888888,${wh1}`,
      `${shopId},MUG,POP,${mug},${late}`,
    ].join('\n');
    const message = await problemsOf(verifyMappingsInShopify(parseMappingsCsv(csv), shopify()));
    expect(message).toContain(`line 3: shopify_location_id: gid://shopify/Location/999999 is not a location of shop "${shopId}"`);
    expect(message).toContain(`line 4: inventory_item_id: gid://shopify/InventoryItem/888888 does not exist in shop "${shopId}"`);
    expect(message).toContain(`line 5: inventory_item_id: ${mug} is not stocked at ${late} (Pop-up)`);
    expect(message).not.toContain('line 2');
    await verifyMappingsInShopify(parseMappingsCsv(`${header}\n${shopId},MUG,WH1,${mug},${wh1}\n`), shopify());
  });

  it('two SKUs on one Shopify item and location are named with both lines, in the file and against the database', async () => {
    const inFile = `${header}\n${shopId},A,WH1,${mug},${wh1}\n${shopId},B,WH1,${mug},${wh1}\n`;
    expect(await problemsOf(Promise.resolve().then(() => parseMappingsCsv(inFile)))).toContain(
      `line 3: inventory_item_id, shopify_location_id: ${mug} at ${wh1} is already mapped on line 2 (sku A at WH1)`,
    );
    // TEE is already stored on (tee, wh1): another key on it would be a unique violation, now a named problem.
    const inDb = `${header}\n${shopId},MUG,WH1,${mug},${wh1}\n${shopId},TEE-2,WH1,${tee},${wh1}\n`;
    const message = await problemsOf(importMappings(svc.db, parseMappingsCsv(inDb)));
    expect(message).toContain(`line 3: inventory_item_id, shopify_location_id: ${tee} at ${wh1} is already mapped to sku TEE at WH1 in shop "${shopId}"`);
    const { rows } = await svc.db.query('SELECT sku FROM mappings WHERE shop_id = $1 ORDER BY sku', [shopId]);
    expect(rows).toEqual([{ sku: 'TEE' }]);
  });

  it('a short row or an unknown column is a line-numbered problem, not a parser stack trace', async () => {
    const short = await problemsOf(Promise.resolve().then(() => parseMappingsCsv(`${header}\n${shopId},TEE,WH1,${tee},${wh1}\n${shopId},MUG,WH1\n`)));
    expect(short).toContain('line 3: inventory_item_id: required');
    expect(short).toContain('line 3: shopify_location_id: required');
    const unknown = await problemsOf(Promise.resolve().then(() => parseMappingsCsv(`${header},colour\n${shopId},TEE,WH1,${tee},${wh1},red\n`)));
    expect(unknown).toContain('line 1: unknown column(s) colour');
  });

  it('the header must come first: a file that starts with a mapping, or is empty, is refused naming the header', async () => {
    const headless = await problemsOf(Promise.resolve().then(() => parseMappingsCsv(`${shopId},TEE,WH1,${tee},${wh1}\n`)));
    expect(headless).toContain('line 1: expected the header shop_id,sku,location_id,inventory_item_id,shopify_location_id[,variant_id] as the first line');
    expect(await problemsOf(Promise.resolve().then(() => parseMappingsCsv('\n')))).toContain('the file is empty');
    const partial = await problemsOf(Promise.resolve().then(() => parseMappingsCsv(`shop_id,sku,location_id,inventory_item_id\n${shopId},TEE,WH1,${tee}\n`)));
    expect(partial).toContain('line 1: the header lacks column(s) shopify_location_id');
  });

  it('takes the numeric ids the Shopify admin shows in its URLs as gids of the column\'s kind; a gid of another kind is refused', async () => {
    const [numeric] = parseMappingsCsv(`${header}\n${shopId},TEE,WH1,44012345678,501\n`);
    expect(numeric).toMatchObject({ inventory_item_id: 'gid://shopify/InventoryItem/44012345678', shopify_location_id: 'gid://shopify/Location/501' });
    const swapped = await problemsOf(Promise.resolve().then(() => parseMappingsCsv(`${header}\n${shopId},TEE,WH1,${wh1},${tee}\n`)));
    expect(swapped).toContain('line 2: inventory_item_id: expected gid://shopify/InventoryItem/<id> or the numeric id');
    expect(swapped).toContain('line 2: shopify_location_id: expected gid://shopify/Location/<id> or the numeric id');
  });

  it('a location code with "|" (our keys\' SKU-location separator) is a line-numbered problem; a SKU may hold one', async () => {
    const bad = await problemsOf(Promise.resolve().then(() => parseMappingsCsv(`${header}\n${shopId},TEE|RED,WH1,${tee},${wh1}\n${shopId},TEE,WH|1,${tee},${wh1}\n`)));
    expect(bad).toContain('line 3: location_id: expected no "|" in a location code');
    expect(bad).not.toContain('line 2');
  });
});
