import { z } from 'zod';
import { KEY_SEPARATOR, LOCATION_SEPARATOR_MESSAGE, MAX_ID_LENGTH, MAX_LINE_QUANTITY, MAX_LINES, MAX_SHOP_ID_LENGTH } from '../../domain/limits.js';

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

/**
 * A lone surrogate (JSON "\ud800") is not text PostgreSQL takes: jsonb refuses it, and a text column would store
 * U+FFFD in its place, so two different ids would become one. (String.prototype.isWellFormed is Node 20's, not ES2022's.)
 */
const WELL_FORMED = /^(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
const WELL_FORMED_MESSAGE = 'expected well-formed Unicode (a lone surrogate such as \\ud800 is not text)';

/** A non-empty string of at most `max` characters that PostgreSQL stores as sent (no NUL, no lone surrogate). */
const storableText = (what: string, max: number) =>
  z.string().min(1, `expected ${what}`).max(max, `expected at most ${max} characters`).regex(NO_NUL, NO_NUL_MESSAGE).regex(WELL_FORMED, WELL_FORMED_MESSAGE);

/** The fields every route bounds the same way (src/domain/limits.ts says why). */
export const shopIdField = storableText('a shop id', MAX_SHOP_ID_LENGTH);
export const idField = (what: string) => storableText(what, MAX_ID_LENGTH);

/** The instants PostgreSQL reads back from the canonical form: it has no year 0000, and a year needs four digits. */
const EARLIEST_MS = Date.parse('0001-01-01T00:00:00Z');
const LATEST_MS = Date.parse('9999-12-31T23:59:59Z');

/** How far ahead of our clock a caller's timestamp may be, and the setting that says so. */
export interface ClockSkew {
  maxSeconds: number;
  /** Whose clock to check, for the message: "the source's", "the WMS's", "the channel's". */
  clock: string;
}

/**
 * An ISO 8601 timestamp with its offset, returned as canonical UTC (`2026-01-01T00:00:00.000Z`, sub-millisecond
 * digits kept to the microsecond). PostgreSQL takes offsets up to ±15:59 only, so `+20:00` as sent failed the
 * statement (and an order's workflow retried it forever); as UTC it is just an instant. With `skew`, an instant
 * more than `skew.maxSeconds` ahead of our clock is refused: a date far ahead pins whatever it orders.
 */
export const timestampField = (skew?: ClockSkew) =>
  z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp with its offset, such as 2026-11-30T12:00:00Z or 2026-11-30T13:00:00+01:00' }).transform((v, ctx) => {
    const fraction = /\.(\d+)/.exec(v)?.[1] ?? '';
    // Whole seconds here, the fraction as written: offsets are whole minutes, so they never touch it.
    const ms = Date.parse(v.replace(/\.\d+/, ''));
    const refuse = (message: string) => {
      ctx.issues.push({ code: 'custom', message, input: v, continue: false });
      return z.NEVER;
    };
    if (!(ms >= EARLIEST_MS && ms <= LATEST_MS)) return refuse('expected an instant from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z (in UTC)');
    const utc = `${new Date(ms).toISOString().slice(0, 19)}.${fraction.padEnd(3, '0').slice(0, 6)}Z`;
    if (skew && Date.parse(utc) > Date.now() + skew.maxSeconds * 1000) {
      return refuse(
        `is in the future by more than the allowed clock skew (inventory_sync.source_events.max_clock_skew_seconds: ${skew.maxSeconds}); check ${skew.clock} clock`,
      );
    }
    return utc;
  });
export const lineQuantity = (min: 0 | 1) =>
  z
    .number({ error: 'expected a number' })
    .int('expected a whole number')
    .min(min, `expected a whole number >= ${min}`)
    .max(MAX_LINE_QUANTITY, `expected at most ${MAX_LINE_QUANTITY}`);
export const lineList = <T extends z.ZodType>(line: T) => z.array(line).max(MAX_LINES, `expected at most ${MAX_LINES} lines (send a larger order in parts)`);

/** A location code: an id without the key separator (src/domain/limits.ts, KEY_SEPARATOR). */
export const locationField = () => idField('a location code').refine((v) => !v.includes(KEY_SEPARATOR), LOCATION_SEPARATOR_MESSAGE);
/** '@' joins a line id and its location into the claim line's id (claimLineId): in either part, two lines could meet. */
const CLAIM_LINE_SEPARATOR = '@';
const withoutClaimSeparator = <T extends z.ZodType<string>>(field: T, what: string) =>
  field.refine((v) => !v.includes(CLAIM_LINE_SEPARATOR), `expected ${what} without "@" (it joins a line and its location)`);

/** One order line as the order routes take it (POST /orders, POST /wms/allocations): the same fields, bounded alike. */
export const orderLine = (minQuantity: 0 | 1) =>
  z.object({
    lineId: withoutClaimSeparator(idField('a line id'), 'a line id'),
    sku: idField('a SKU'),
    locationId: withoutClaimSeparator(locationField(), 'a location code'),
    quantity: lineQuantity(minQuantity),
  });

/**
 * An order's lines, each (line, location) once: a repeat was merged before (the last SKU won, the quantities were
 * summed), so a line could be claimed under a SKU it was not sent with.
 */
export const orderLines = (minQuantity: 0 | 1) =>
  lineList(orderLine(minQuantity)).superRefine((lines, ctx) => {
    const seen = new Map<string, number>();
    lines.forEach((l, i) => {
      const id = `${l.lineId}@${l.locationId}`;
      const first = seen.get(id);
      if (first === undefined) return void seen.set(id, i);
      ctx.addIssue({ code: 'custom', path: [i, 'lineId'], message: `line "${l.lineId}" at location "${l.locationId}" is also lines.${first}: send each line once, with its whole quantity` });
    });
  });
