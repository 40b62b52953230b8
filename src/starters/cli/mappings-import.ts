import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { Db } from '../../db/pool.js';
import { Errors } from '../../domain/errors.js';

const GID = /^gid:\/\/shopify\/(InventoryItem|Location|ProductVariant)\/\d+$/;
const row = z.strictObject({
  shop_id: z.string().min(1, 'required'),
  sku: z.string().min(1, 'required'),
  location_id: z.string().min(1, 'required'),
  inventory_item_id: z.string().regex(GID, 'expected gid://shopify/InventoryItem/<id>'),
  shopify_location_id: z.string().regex(GID, 'expected gid://shopify/Location/<id>'),
  variant_id: z
    .string()
    .regex(GID, 'expected gid://shopify/ProductVariant/<id>')
    .optional()
    .or(z.literal('').transform(() => undefined)),
});
export type MappingRow = z.output<typeof row>;

/** Parses a mappings CSV; every bad line is reported with its line number and field, and nothing is imported. */
export function parseMappingsCsv(text: string): MappingRow[] {
  const records = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const problems: string[] = [];
  const rows: MappingRow[] = [];
  const seen = new Set<string>();
  records.forEach((rec, i) => {
    const line = i + 2;
    const parsed = row.safeParse(rec);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`line ${line}: ${issue.path.join('.') || '(row)'}: ${issue.message}`);
      return;
    }
    const key = `${parsed.data.shop_id}|${parsed.data.sku}|${parsed.data.location_id}`;
    if (seen.has(key)) problems.push(`line ${line}: duplicate mapping for ${key}`);
    seen.add(key);
    rows.push(parsed.data);
  });
  if (problems.length > 0) throw Errors.MappingInvalid(`mappings CSV has ${problems.length} problem(s):\n${problems.join('\n')}`, { problems });
  return rows;
}

/** Upserts all rows in one transaction; shops must exist. */
export async function importMappings(db: Db, rows: MappingRow[]): Promise<number> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const shops = [...new Set(rows.map((r) => r.shop_id))];
    const { rows: known } = await client.query<{ id: string }>('SELECT id FROM shops WHERE id = ANY($1)', [shops]);
    const missing = shops.filter((s) => !known.some((k) => k.id === s));
    if (missing.length > 0) throw Errors.UnknownShop(`unknown shop id(s) in mappings: ${missing.join(', ')}`);
    await client.query(
      `INSERT INTO mappings (shop_id, sku, location_id, inventory_item_id, shopify_location_id, variant_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       ON CONFLICT (shop_id, sku, location_id) DO UPDATE SET inventory_item_id = EXCLUDED.inventory_item_id,
         shopify_location_id = EXCLUDED.shopify_location_id, variant_id = EXCLUDED.variant_id, updated_at = now()`,
      [
        rows.map((r) => r.shop_id),
        rows.map((r) => r.sku),
        rows.map((r) => r.location_id),
        rows.map((r) => r.inventory_item_id),
        rows.map((r) => r.shopify_location_id),
        rows.map((r) => r.variant_id ?? null),
      ],
    );
    await client.query('COMMIT');
    return rows.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function readMappingsFile(file: string): MappingRow[] {
  return parseMappingsCsv(readFileSync(file, 'utf8'));
}
