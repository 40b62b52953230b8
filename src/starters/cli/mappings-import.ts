import { readFileSync } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
import { z } from 'zod';
import { mappingsInvalid as invalid } from '../../db/mappings.js';
import { Errors } from '../../domain/errors.js';
import { KEY_SEPARATOR, LOCATION_SEPARATOR_MESSAGE } from '../../domain/limits.js';
import type { ShopifyClient } from '../../shopify/client/index.js';
import { findInventoryItems } from '../../shopify/client/reads.js';

/**
 * A Shopify id: its gid, or the number the Shopify admin shows in its URLs (…/inventory_items/44012345678), which
 * becomes the gid of the kind the column holds. A gid of another kind (a location's in the item column) is refused.
 */
const shopifyId = (kind: 'InventoryItem' | 'Location' | 'ProductVariant') =>
  z
    .string({ error: 'required' })
    .regex(new RegExp(`^(gid://shopify/${kind}/)?[1-9]\\d{0,19}$`), `expected gid://shopify/${kind}/<id> or the numeric id`)
    .transform((v) => (v.startsWith('gid://') ? v : `gid://shopify/${kind}/${v}`));
const required = (what = 'required') => z.string({ error: 'required' }).min(1, what);
const row = z.strictObject({
  shop_id: required(),
  sku: required(),
  location_id: required().refine((v) => !v.includes(KEY_SEPARATOR), LOCATION_SEPARATOR_MESSAGE),
  inventory_item_id: shopifyId('InventoryItem'),
  shopify_location_id: shopifyId('Location'),
  variant_id: shopifyId('ProductVariant')
    .optional()
    .or(z.literal('').transform(() => undefined)),
});
export type MappingRow = z.output<typeof row> & { /** The CSV line it came from (1 = header). */ line?: number };

const REQUIRED_COLUMNS = ['shop_id', 'sku', 'location_id', 'inventory_item_id', 'shopify_location_id'];
const KNOWN_COLUMNS = new Set([...REQUIRED_COLUMNS, 'variant_id']);
const COLUMNS = 'shop_id,sku,location_id,inventory_item_id,shopify_location_id[,variant_id]';

/** The first line must be the header: a file that starts with a mapping would otherwise lose that row silently. */
function headerOf(fields: string[]): string[] {
  const names = fields.map((f) => f.trim());
  const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  const unknown = names.filter((n) => n !== '' && !KNOWN_COLUMNS.has(n));
  if (missing.length === REQUIRED_COLUMNS.length) invalid([`line 1: expected the header ${COLUMNS} as the first line, found "${names.join(',').slice(0, 120)}"`]);
  const problems = [
    ...(missing.length > 0 ? [`line 1: the header lacks column(s) ${missing.join(', ')} (expected ${COLUMNS})`] : []),
    ...(unknown.length > 0 ? [`line 1: unknown column(s) ${unknown.join(', ')} (expected ${COLUMNS})`] : []),
  ];
  if (problems.length > 0) invalid(problems);
  return names;
}

/** Parses a mappings CSV; every bad line is reported with its line number and field, and nothing is imported. */
export function parseMappingsCsv(text: string): MappingRow[] {
  let records: { record: Record<string, string>; line: number }[];
  if (text.trim() === '') invalid([`the file is empty: expected the header ${COLUMNS}, then one mapping per line`]);
  try {
    // relax_column_count: a short row is reported below as its missing fields, not as a parser stack trace.
    records = (parse(text, { columns: headerOf, skip_empty_lines: true, trim: true, relax_column_count: true, info: true }) as { record: Record<string, string>; info: { lines: number } }[]).map(
      (r) => ({ record: r.record, line: r.info.lines }),
    );
  } catch (err) {
    if (err instanceof CsvError) invalid([`line ${(err as CsvError & { lines?: number }).lines ?? '?'}: ${err.message.replace(/^Invalid Record Length: /, '')} (expected ${COLUMNS})`]);
    throw err;
  }
  const problems: string[] = [];
  const rows: MappingRow[] = [];
  const seen = new Map<string, number>();
  const shopifyPairs = new Map<string, { line: number; sku: string; location: string }>();
  for (const { record, line } of records) {
    const parsed = row.safeParse(record);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') problems.push(`line ${line}: unknown column(s) ${issue.keys.join(', ')} (expected ${COLUMNS})`);
        else problems.push(`line ${line}: ${issue.path.join('.') || '(row)'}: ${issue.message}`);
      }
      continue;
    }
    const r = parsed.data;
    const key = `${r.shop_id}|${r.sku}|${r.location_id}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) problems.push(`line ${line}: duplicate mapping for ${key} (also on line ${earlier})`);
    seen.set(key, line);
    // Shopify has one quantity per item and location: two of our keys on it would overwrite each other.
    const pair = `${r.shop_id}|${r.inventory_item_id}|${r.shopify_location_id}`;
    const other = shopifyPairs.get(pair);
    if (other) {
      problems.push(`line ${line}: inventory_item_id, shopify_location_id: ${r.inventory_item_id} at ${r.shopify_location_id} is already mapped on line ${other.line} (sku ${other.sku} at ${other.location})`);
    } else shopifyPairs.set(pair, { line, sku: r.sku, location: r.location_id });
    rows.push({ ...r, line });
  }
  if (problems.length > 0) invalid(problems);
  return rows;
}

/**
 * Checks the rows against each shop's Shopify: the location exists and is active, the inventory item exists and
 * is stocked at that location. A mapping that fails here would make every write for its key fail.
 */
export async function verifyMappingsInShopify(rows: MappingRow[], shopify: (shopId: string) => ShopifyClient): Promise<void> {
  const problems: string[] = [];
  const byShop = new Map<string, MappingRow[]>();
  for (const r of rows) byShop.set(r.shop_id, [...(byShop.get(r.shop_id) ?? []), r]);
  for (const [shopId, shopRows] of byShop) {
    const client = shopify(shopId);
    const locations = new Map((await client.listLocations()).map((l) => [l.id, l]));
    const items = await findInventoryItems(client.request, shopRows.map((r) => r.inventory_item_id));
    const candidates = shopRows.filter((r) => locations.has(r.shopify_location_id) && items.has(r.inventory_item_id));
    const levels = await client.readLevels(
      candidates.map((r) => ({ inventoryItemId: r.inventory_item_id, locationId: r.shopify_location_id })),
      ['available'],
    );
    const stocked = new Set(levels.keys());
    for (const r of shopRows) {
      const at = `line ${r.line ?? '?'}`;
      const location = locations.get(r.shopify_location_id);
      if (!location) problems.push(`${at}: shopify_location_id: ${r.shopify_location_id} is not a location of shop "${shopId}" (${client.shopDomain})`);
      else if (location.isActive === false) problems.push(`${at}: shopify_location_id: ${r.shopify_location_id} (${location.name}) is deactivated in shop "${shopId}"`);
      if (!items.has(r.inventory_item_id)) problems.push(`${at}: inventory_item_id: ${r.inventory_item_id} does not exist in shop "${shopId}"`);
      else if (location && !stocked.has(`${r.inventory_item_id}|${r.shopify_location_id}`)) {
        problems.push(`${at}: inventory_item_id: ${r.inventory_item_id} is not stocked at ${r.shopify_location_id} (${location.name}); activate it there in Shopify first`);
      }
    }
  }
  if (problems.length > 0) invalid(problems);
}

export function readMappingsFile(file: string): MappingRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw Errors.MappingInvalid(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseMappingsCsv(text);
}
