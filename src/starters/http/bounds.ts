import { z } from 'zod';
import { MAX_ID_LENGTH, MAX_LINE_QUANTITY, MAX_LINES, MAX_SHOP_ID_LENGTH } from '../../domain/limits.js';

/** The largest request body any route takes (the webhook route's raw-body parser too). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * What PostgreSQL cannot store is refused here, naming the field, rather than failing the statement: a value the
 * edge let through but PostgreSQL refused failed the group commit it shared with other requests (they were then
 * committed one by one) and answered its own request with a 500.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is refused
const NO_NUL = /^[^\u0000]*$/;
const NO_NUL_MESSAGE = 'expected no NUL character (\\u0000)';

/** The fields every route bounds the same way (src/domain/limits.ts says why). */
export const shopIdField = z.string().min(1, 'expected a shop id').max(MAX_SHOP_ID_LENGTH, `expected at most ${MAX_SHOP_ID_LENGTH} characters`).regex(NO_NUL, NO_NUL_MESSAGE);
export const idField = (what: string) => z.string().min(1, `expected ${what}`).max(MAX_ID_LENGTH, `expected at most ${MAX_ID_LENGTH} characters`).regex(NO_NUL, NO_NUL_MESSAGE);
/** An ISO 8601 timestamp with its offset, in PostgreSQL's range (it has no year 0000). */
export const timestampField = () =>
  z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp' }).refine((v) => !v.startsWith('0000'), 'expected a year from 0001 (there is no year 0000)');
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
