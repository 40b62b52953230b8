import { z } from 'zod';
import { MAX_ID_LENGTH, MAX_LINE_QUANTITY, MAX_LINES, MAX_SHOP_ID_LENGTH } from '../../domain/limits.js';

/** The largest request body any route takes (the webhook route's raw-body parser too). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** The fields every route bounds the same way (src/domain/limits.ts says why). */
export const shopIdField = z.string().min(1, 'expected a shop id').max(MAX_SHOP_ID_LENGTH, `expected at most ${MAX_SHOP_ID_LENGTH} characters`);
export const idField = (what: string) => z.string().min(1, `expected ${what}`).max(MAX_ID_LENGTH, `expected at most ${MAX_ID_LENGTH} characters`);
export const lineQuantity = (min: 0 | 1) =>
  z
    .number({ error: 'expected a number' })
    .int('expected a whole number')
    .min(min, `expected a whole number >= ${min}`)
    .max(MAX_LINE_QUANTITY, `expected at most ${MAX_LINE_QUANTITY}`);
export const lineList = <T extends z.ZodType>(line: T) => z.array(line).max(MAX_LINES, `expected at most ${MAX_LINES} lines (send a larger order in parts)`);

/** One order line as the order routes take it (POST /orders, POST /wms/allocations): the same fields, bounded alike. */
export const orderLine = (minQuantity: 0 | 1) =>
  z.object({
    lineId: idField('a line id'),
    sku: idField('a SKU'),
    locationId: idField('a location code'),
    quantity: lineQuantity(minQuantity),
  });
